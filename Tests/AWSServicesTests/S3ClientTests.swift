import AWSTestSupport
import AWSCore
@testable import AWSServices
import Testing

@Suite struct S3ClientTests {
    @Test(arguments: ["us-east-1", "eu-west-1"])
    func missingBucketIsFalseThenCreatedIsTrue(region: String) async throws {
        let s3 = S3Client(try Moto.session(region: region))
        let bucket = uniqueName("sagemaker-\(region)")
        #expect(try await s3.bucketExists(bucket) == false)
        try await s3.createBucket(bucket)
        #expect(try await s3.bucketExists(bucket) == true)
        // Creating it again is fine: it is ours.
        try await s3.createBucket(bucket)
    }

    @Test func outsideUSEast1TheBodyNamesTheRegion() {
        #expect(S3Client.createBucketConfiguration(region: "eu-west-1")
            == "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    }

    @Test func forbiddenHeadBucketSaysWhatItMeans() async throws {
        // HEAD answers have no body; a bad signature and a foreign bucket both look like this.
        let session = try Moto.session(credentials: Moto.credentials(secret: "not-the-secret"))
        let error = try await #require(throws: AWSServiceError.self) { try await S3Client(session).bucketExists("some-bucket-x") }
        #expect(error.httpStatus == 403)
        #expect(error.description.contains("exists but belongs to another AWS account, or these credentials may not access it"))
        #expect(!error.description.contains("not-the-secret"))
    }

    @Test func invalidBucketNameFailsBeforeSending() async throws {
        let s3 = S3Client(try Moto.session())
        let error = try await #require(throws: AWSRequestError.self) { try await s3.bucketExists("My_Bucket") }
        #expect(error.description.hasPrefix("\"My_Bucket\" is not a valid S3 bucket name"))
    }
}
