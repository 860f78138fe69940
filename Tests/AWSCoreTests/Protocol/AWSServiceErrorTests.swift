import AWSCore
import Testing

@Suite struct AWSServiceErrorTests {
    private func error(_ status: Int, _ code: String, _ message: String = "", requestID: String? = nil) -> AWSServiceError {
        AWSServiceError(service: "SageMaker", operation: "CreateModel", httpStatus: status, code: code, message: message, requestID: requestID)
    }

    @Test func descriptionSaysWhoWhatAndWhichRequest() {
        #expect(error(400, "ValidationException", "Could not find model data", requestID: "abc").description
            == "SageMaker CreateModel: ValidationException: Could not find model data (HTTP 400, request id abc)")
        #expect(error(500, "InternalFailure").description == "SageMaker CreateModel: InternalFailure (HTTP 500)")
        #expect(error(500, "InternalFailure", requestID: "").description == "SageMaker CreateModel: InternalFailure (HTTP 500)")
    }

    @Test func helpers() {
        #expect(error(400, "ThrottlingException").isThrottling)
        #expect(error(429, "ModelNotReadyException").isThrottling)
        #expect(!error(400, "ValidationException").isThrottling)
        #expect(error(400, "ValidationException", "Could not find endpoint \"x\".").isNotFound)
        #expect(!error(400, "ValidationException", "Endpoint x already exists").isNotFound)
        #expect(error(400, "ResourceNotFound").isNotFound)
        #expect(error(404, "NotFound").isNotFound)
        #expect(error(400, "AccessDeniedException").isAccessDenied)
        #expect(!error(403, "SignatureDoesNotMatch").isAccessDenied)
        #expect(error(403, "SignatureDoesNotMatch").isCredentialProblem)
        #expect(error(400, "ExpiredTokenException").isCredentialProblem)
    }
}
