import AWSCore
import Testing

@Suite struct AWSErrorParserTests {
    private func json(_ status: Int, _ headers: [String: String], _ body: String, operation: String = "DescribeEndpoint") -> AWSServiceError {
        AWSErrorParser.jsonProtocol(status: status, headers: headers, body: Array(body.utf8), service: "SageMaker", operation: operation)
    }

    private func query(_ status: Int, _ headers: [String: String], _ body: String, service: String = "STS", operation: String) -> AWSServiceError {
        AWSErrorParser.queryProtocol(status: status, headers: headers, body: Array(body.utf8), service: service, operation: operation)
    }

    @Test func jsonValidationExceptionFromMoto() {
        let error = json(400, [
            "x-amzn-errortype": "ValidationException", "content-type": "application/x-amz-json-1.1",
            "x-amzn-requestid": "tARvaeAHOrtaIfmiZrpImvzqRfBudg7d9rBysjirByGlLWRC36CM",
        ], AWSResponseSamples.couldNotFindEndpoint)
        #expect(error == AWSServiceError(
            service: "SageMaker", operation: "DescribeEndpoint", httpStatus: 400, code: "ValidationException",
            message: "Could not find endpoint 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope'.",
            requestID: "tARvaeAHOrtaIfmiZrpImvzqRfBudg7d9rBysjirByGlLWRC36CM"))
        #expect(error.isNotFound)
        #expect(!error.isThrottling)
        #expect(error.description == "SageMaker DescribeEndpoint: ValidationException: Could not find endpoint "
            + "'arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope'. (HTTP 400, request id tARvaeAHOrtaIfmiZrpImvzqRfBudg7d9rBysjirByGlLWRC36CM)")
    }

    @Test func jsonThrottlingWithNamespacedTypeAndLowercaseMessage() {
        let error = json(400, ["X-Amzn-RequestId": "r-1"],
                         #"{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}"#)
        #expect(error.code == "ThrottlingException")
        #expect(error.message == "Rate exceeded")
        #expect(error.requestID == "r-1", "header names are matched without case")
        #expect(error.isThrottling)
        #expect(RetryPolicy().classify(error) == .retry(.throttled(code: "ThrottlingException")))
    }

    @Test func theErrorTypeHeaderWinsAndIsSanitized() {
        let error = json(400, ["x-amzn-errortype": "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/"],
                         #"{"code":"Other","Message":"bad input"}"#, operation: "InvokeEndpoint")
        #expect(error.code == "ValidationError")
        #expect(error.message == "bad input")
    }

    @Test func restJSONCodeFields() {
        #expect(json(424, [:], #"{"code":"ModelError","message":"Received server error (500) from primary"}"#).code == "ModelError")
        #expect(json(429, [:], #"{"Code":"ModelNotReadyException","Message":"not ready"}"#).code == "ModelNotReadyException")
        #expect(json(500, [:], #"{"errorMessage":"boom"}"#).message == "boom")
    }

    @Test(arguments: [
        ("com.amazonaws.sagemaker#ResourceLimitExceeded", "ResourceLimitExceeded"),
        ("aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/", "FooError"),
        ("ThrottlingException:", "ThrottlingException"),
        ("a#b#C", "C"),
        (" Plain ", "Plain"),
    ])
    func sanitizesCodes(_ raw: String, _ code: String) {
        #expect(AWSErrorParser.sanitizeCode(raw) == code)
    }

    @Test func jsonBodiesThatAreNotJSON() {
        let html = json(502, [:], "<html><body>Bad Gateway</body></html>\n")
        #expect(html.code == "BadGateway")
        #expect(html.message == "<html><body>Bad Gateway</body></html>")
        let empty = json(503, [:], "")
        #expect(empty.code == "ServiceUnavailable")
        #expect(empty.message == "")
        #expect(empty.description == "SageMaker DescribeEndpoint: ServiceUnavailable (HTTP 503)")
        let wrongTypes = json(400, [:], #"{"__type": 5, "message": ["x"], "Message": "kept"}"#)
        #expect(wrongTypes.code == "BadRequest")
        #expect(wrongTypes.message == "kept")
        let long = json(500, [:], String(repeating: "x", count: 2000))
        #expect(long.message.count == 515)
    }

    @Test func queryErrorResponseWithSignatureDoesNotMatch() {
        let aws = query(403, [:], AWSResponseSamples.signatureDoesNotMatchAWS, operation: "GetCallerIdentity")
        #expect(aws.code == "SignatureDoesNotMatch")
        #expect(aws.message == "The request signature we calculated does not match the signature you provided.")
        #expect(aws.requestID == "4f1b4c4a-0000-4000-8000-000000000000")
        #expect(aws.isCredentialProblem)
        #expect(!aws.isAccessDenied)

        let moto = query(403, ["x-amzn-requestid": "iHny"], AWSResponseSamples.signatureDoesNotMatchMoto, operation: "GetCallerIdentity")
        #expect(moto.code == "SignatureDoesNotMatch")
        #expect(moto.message.hasPrefix("The request signature we calculated does not match"))
        #expect(moto.requestID == "iHny")
        #expect(moto.description.hasPrefix("STS GetCallerIdentity: SignatureDoesNotMatch: The request signature"))
        #expect(moto.description.hasSuffix("(HTTP 403, request id iHny)"))
    }

    @Test func iamNoSuchEntityIsNotFound() {
        let error = query(404, [:], AWSResponseSamples.noSuchEntity, service: "IAM", operation: "GetRole")
        #expect(error == AWSServiceError(
            service: "IAM", operation: "GetRole", httpStatus: 404, code: "NoSuchEntity", message: "Role missing not found",
            requestID: "Mj8EwfeDcjS5hY7x0JTEKSCEIMPlCAg0P4KEOa5VLYdpycSs3E55"))
        #expect(error.isNotFound)
    }

    @Test func s3ErrorDocument() {
        let error = query(404, ["x-amz-request-id": "hdr"], AWSResponseSamples.noSuchBucket, service: "S3", operation: "GetObject")
        #expect(error.code == "NoSuchBucket")
        #expect(error.message == "The specified bucket does not exist")
        #expect(error.requestID == "hdr", "the header's request id comes first")
        #expect(error.isNotFound)
    }

    @Test func headResponsesWithoutBody() {
        let missing = query(404, [:], "", service: "S3", operation: "HeadBucket")
        #expect(missing.code == "NotFound")
        #expect(missing.isNotFound)
        #expect(missing.description == "S3 HeadBucket: NotFound (HTTP 404)")
        let forbidden = query(403, [:], "", service: "S3", operation: "HeadBucket")
        #expect(forbidden.code == "Forbidden")
        #expect(forbidden.isAccessDenied)
        let moved = query(301, ["x-amz-bucket-region": "eu-west-1"], "", service: "S3", operation: "HeadBucket")
        #expect(moved.code == "PermanentRedirect")
        #expect(moved.message == "the bucket is in region eu-west-1")
        #expect(query(418, [:], "", operation: "X").code == "HTTP418")
    }

    @Test func queryBodiesThatAreNotXML() {
        let error = query(500, [:], "upstream connect error", operation: "GetCallerIdentity")
        #expect(error.code == "InternalServerError")
        #expect(error.message == "upstream connect error")
        #expect(RetryPolicy().classify(error) == .retry(.serverError(status: 500)))
    }
}
