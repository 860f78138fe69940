import Testing
@testable import AWSCore

@Suite struct AWSRegionResolverTests {
    let config = """
        [default]
        region = us-west-2
        [profile eu]
        region = eu-central-1
        """

    @Test func explicitThenAWSRegionThenDefaultRegionThenConfig() throws {
        let fixture = try AWSConfigFixture(config: config)
        let all = ["AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "sa-east-1"]
        #expect(try AWSRegionResolver.resolve(fixture.env(all), explicit: "us-east-2") == ("us-east-2", "the explicit setting"))
        #expect(try AWSRegionResolver.resolve(fixture.env(all), explicit: nil) == ("ap-south-1", "AWS_REGION"))
        #expect(try AWSRegionResolver.resolve(fixture.env(["AWS_DEFAULT_REGION": "sa-east-1"]), explicit: "") == ("sa-east-1", "AWS_DEFAULT_REGION"))
        #expect(try AWSRegionResolver.resolve(fixture.env(), explicit: nil) == ("us-west-2", "\(fixture.home)/.aws/config [default]"))
        #expect(try AWSRegionResolver.resolve(fixture.env(["AWS_PROFILE": "eu"]), explicit: nil).region == "eu-central-1")
    }

    @Test func noRegionListsEveryPlace() throws {
        let fixture = try AWSConfigFixture(config: "[profile other]\nregion = eu-west-1\n")
        let error = #expect(throws: AWSConfigError.self) { try AWSRegionResolver.resolve(fixture.env(), explicit: nil) }
        #expect(error == .noRegion(searched: [
            "an explicit region (none given)",
            "environment variable AWS_REGION (not set)",
            "environment variable AWS_DEFAULT_REGION (not set)",
            "\(fixture.home)/.aws/config [default] (no such section)",
        ]))
        #expect(String(describing: error!).contains("AWS_REGION"))
    }

    @Test func aRegionThatIsNotANameIsRefused() throws {
        let fixture = try AWSConfigFixture()
        #expect(throws: AWSConfigError.invalidRegion(value: "https://us-east-1", source: "AWS_REGION")) {
            try AWSRegionResolver.resolve(fixture.env(["AWS_REGION": "https://us-east-1"]), explicit: nil)
        }
        #expect(throws: AWSConfigError.invalidRegion(value: "us east", source: "the explicit setting")) {
            try AWSRegionResolver.resolve(fixture.env(), explicit: "us east")
        }
    }
}
