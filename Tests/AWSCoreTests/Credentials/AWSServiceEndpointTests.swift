import Testing
@testable import AWSCore

@Suite struct AWSServiceEndpointTests {
    let plain = AWSConfigEnvironment(environment: [:], homeDirectory: "/nonexistent")

    @Test func defaultEndpoints() {
        #expect(AWSServiceEndpoint.url(serviceID: "SageMaker", region: "us-east-1", env: plain)
            == ("https://api.sagemaker.us-east-1.amazonaws.com", "us-east-1", "sagemaker"))
        #expect(AWSServiceEndpoint.url(serviceID: "SageMaker Runtime", region: "eu-west-1", env: plain)
            == ("https://runtime.sagemaker.eu-west-1.amazonaws.com", "eu-west-1", "sagemaker"))
        #expect(AWSServiceEndpoint.url(serviceID: "STS", region: "ap-southeast-2", env: plain)
            == ("https://sts.ap-southeast-2.amazonaws.com", "ap-southeast-2", "sts"))
        #expect(AWSServiceEndpoint.url(serviceID: "IAM", region: "eu-west-1", env: plain)
            == ("https://iam.amazonaws.com", "us-east-1", "iam"))
        #expect(AWSServiceEndpoint.url(serviceID: "S3", region: "us-west-2", env: plain)
            == ("https://s3.us-west-2.amazonaws.com", "us-west-2", "s3"))
    }

    @Test func chinaRegionsUseTheirOwnDomain() {
        #expect(AWSServiceEndpoint.url(serviceID: "SageMaker Runtime", region: "cn-north-1", env: plain).url
            == "https://runtime.sagemaker.cn-north-1.amazonaws.com.cn")
        #expect(AWSServiceEndpoint.url(serviceID: "IAM", region: "cn-northwest-1", env: plain)
            == ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "iam"))
    }

    @Test func serviceOverrideBeatsGlobalOverride() {
        let env = AWSConfigEnvironment(environment: [
            "AWS_ENDPOINT_URL": "http://localhost:5000/",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://127.0.0.1:8081",
        ], homeDirectory: "/nonexistent")
        #expect(AWSServiceEndpoint.environmentVariable(serviceID: "SageMaker Runtime") == "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
        #expect(AWSServiceEndpoint.url(serviceID: "SageMaker Runtime", region: "us-east-1", env: env)
            == ("http://127.0.0.1:8081", "us-east-1", "sagemaker"))
        #expect(AWSServiceEndpoint.url(serviceID: "SageMaker", region: "us-east-1", env: env)
            == ("http://localhost:5000", "us-east-1", "sagemaker"))
        // An overridden IAM is still signed for its home region.
        #expect(AWSServiceEndpoint.url(serviceID: "IAM", region: "eu-west-1", env: env)
            == ("http://localhost:5000", "us-east-1", "iam"))
    }

    @Test func overridesCanBeIgnored() {
        let env = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL": "http://localhost:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"],
                                       homeDirectory: "/nonexistent")
        #expect(AWSServiceEndpoint.url(serviceID: "STS", region: "us-east-1", env: env).url == "https://sts.us-east-1.amazonaws.com")
    }
}
