import AWSTestSupport
import AWSCore
import AWSServices
import CellbookHTTP
import Testing

@Suite struct AWSSessionTests {
    @Test func resolvesCredentialsAndRegionFromTheEnvironment() throws {
        let env = AWSConfigEnvironment(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
            "AWS_REGION": "eu-west-1", "HF_TOKEN": "hf_dontprintme",
        ], homeDirectory: "/nonexistent")
        let session = try AWSSession.resolve(region: nil, config: env, http: HTTPClient())
        #expect(session.credentials.accessKeyID == "AKIDENV")
        #expect(session.credentials.sessionToken == "env-token")
        #expect(session.region == "eu-west-1")
        #expect(session.regionSource == "AWS_REGION")

        // What ends up in logs shows neither the secrets nor the rest of the environment.
        for text in [String(describing: session), String(reflecting: session), { var s = ""; dump(session, to: &s); return s }()] {
            #expect(text.contains("AKIDENV"))
            #expect(!text.contains("env-secret") && !text.contains("env-token") && !text.contains("hf_dontprintme"), "\(text)")
        }
        #expect(try AWSSession.resolve(region: "ap-south-1", config: env, http: HTTPClient()).region == "ap-south-1")
    }

    @Test func missingCredentialsSayWhereItLooked() {
        let env = AWSConfigEnvironment(environment: ["AWS_REGION": "us-east-1"], homeDirectory: "/nonexistent")
        #expect {
            try AWSSession.resolve(region: nil, config: env, http: HTTPClient())
        } throws: { error in
            String(describing: error).hasPrefix("No AWS credentials found. Looked in:")
        }
    }

    @Test func endpointOverridesAreHonoured() {
        let env = AWSConfigEnvironment(environment: ["AWS_ENDPOINT_URL_SAGEMAKER": "http://localhost:1234/"], homeDirectory: "/nonexistent")
        let session = AWSSession(credentials: AWSCredentials(accessKeyID: "A", secretAccessKey: "S", source: "test"),
                                 region: "us-west-2", config: env, http: HTTPClient())
        #expect(session.endpoint(serviceID: "SageMaker").url == "http://localhost:1234")
        #expect(session.endpoint(serviceID: "SageMaker Runtime").url == "https://runtime.sagemaker.us-west-2.amazonaws.com")
        #expect(session.endpoint(serviceID: "IAM") == ("https://iam.amazonaws.com", "us-east-1", "iam"))
    }
}
