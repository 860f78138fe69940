import AWSTestSupport
import AWSCore
import AWSServices
import Testing

@Suite struct STSClientTests {
    @Test func callerIdentityIsSignedAndAccepted() async throws {
        let identity = try await STSClient(Moto.session()).getCallerIdentity()
        #expect(identity.account == (try Moto.account))
        #expect(identity.arn == "arn:aws:iam::\(try Moto.account):user/cellbook-test")
        #expect(!identity.userID.isEmpty)
    }

    @Test func wrongSecretIsASignatureErrorThatSaysSoWithoutTheSecret() async throws {
        let secret = "wrong-secret-0123456789abcdefghijklmnopqr"
        let session = try Moto.session(credentials: Moto.credentials(secret: secret))
        let error = try await #require(throws: AWSServiceError.self) { try await STSClient(session).getCallerIdentity() }
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.httpStatus == 403)
        #expect(error.isCredentialProblem)
        #expect(error.description.hasPrefix("STS GetCallerIdentity: SignatureDoesNotMatch: "))
        #expect(error.message.contains("signature"))
        #expect(!error.description.contains(secret))
    }

    @Test func unknownKeyIsInvalidClientTokenId() async throws {
        let session = try Moto.session(credentials: Moto.credentials(keyID: "AKIAUNKNOWNKEY000000"))
        let error = try await #require(throws: AWSServiceError.self) { try await STSClient(session).getCallerIdentity() }
        #expect(error.code == "InvalidClientTokenId")
        #expect(error.isCredentialProblem)
    }
}

@Suite struct IAMClientTests {
    @Test func getsTheExecutionRole() async throws {
        let role = try await IAMClient(Moto.session()).getRole(name: "sagemaker_execution_role")
        #expect(role.arn == "arn:aws:iam::\(try Moto.account):role/sagemaker_execution_role")
        #expect(role.name == "sagemaker_execution_role")
    }

    @Test func signsForUSEast1FromAnyRegion() async throws {
        // moto files requests under the credential scope's region: the role, made in
        // us-east-1, is only found if IAM is signed for us-east-1 whatever the session says.
        let role = try await IAMClient(Moto.session(region: "eu-west-1")).getRole(name: "sagemaker_execution_role")
        #expect(role.name == "sagemaker_execution_role")
    }

    @Test func missingRoleIsNotFound() async throws {
        let error = try await #require(throws: AWSServiceError.self) {
            try await IAMClient(Moto.session()).getRole(name: "no-such-role-\(uniqueName("r"))")
        }
        #expect(error.code == "NoSuchEntity")
        #expect(error.isNotFound)
        #expect(error.operation == "GetRole")
    }
}
