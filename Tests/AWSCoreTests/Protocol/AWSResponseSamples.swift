/// Response bodies as moto 5.2.1 serves them (captured from `moto_server` with boto3), and as
/// AWS documents them where moto differs.
enum AWSResponseSamples {
    static let getCallerIdentity = """
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>\
        <UserId>AKIAIOSFODNN7EXAMPLE</UserId><Account>123456789012</Account><Arn>arn:aws:sts::123456789012:user/moto</Arn>\
        </GetCallerIdentityResult><ResponseMetadata><RequestId>Eeh91VW54qDZByjb5MLAv6Q3DkHV632axQWRJ0p0iEKlQtUK2ohg</RequestId>\
        </ResponseMetadata></GetCallerIdentityResponse>
        """

    /// AWS's own layout: indented, with an assumed role.
    static let getCallerIdentityIndented = """
        <?xml version="1.0" encoding="UTF-8"?>
        <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <GetCallerIdentityResult>
            <Arn>arn:aws:sts::111122223333:assumed-role/SageMakerRole/botocore-session-1700000000</Arn>
            <UserId>AROAEXAMPLE:botocore-session-1700000000</UserId>
            <Account>111122223333</Account>
          </GetCallerIdentityResult>
          <ResponseMetadata>
            <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
          </ResponseMetadata>
        </GetCallerIdentityResponse>

        """

    static let getRole = """
        <GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/service-role/</Path>\
        <RoleName>sagemaker_execution_role</RoleName><RoleId>AROARZPUZDIKEGHWMU5RZ</RoleId>\
        <Arn>arn:aws:iam::123456789012:role/service-role/sagemaker_execution_role</Arn><CreateDate>2026-12-02T07:52:40.824252Z</CreateDate>\
        <AssumeRolePolicyDocument>%7B%22Version%22%3A%20%222012-10-17%22%7D</AssumeRolePolicyDocument>\
        <Description>SageMaker &amp; &lt;friends&gt;</Description><MaxSessionDuration>3600</MaxSessionDuration>\
        <Tags><member><Key>team</Key><Value>ml &amp; &lt;ops&gt;</Value></member><member><Key>env</Key><Value>dev</Value></member></Tags>\
        <RoleLastUsed/></Role></GetRoleResult><ResponseMetadata><RequestId>j5gH2kHyImLr2qBpYNVbBpLuRCVTLip7jDdu2ybQu2imSeqxCzpx</RequestId>\
        </ResponseMetadata></GetRoleResponse>
        """

    /// moto's answer to a wrong signature (HTTP 403): note the extra `<Errors>` level.
    static let signatureDoesNotMatchMoto = """
        <?xml version="1.0" encoding="utf-8"?>
        <ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not \
        match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation \
        for details.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>
        """

    /// STS's own answer to a wrong signature.
    static let signatureDoesNotMatchAWS = """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error>
            <Type>Sender</Type>
            <Code>SignatureDoesNotMatch</Code>
            <Message>The request signature we calculated does not match the signature you provided.</Message>
          </Error>
          <RequestId>4f1b4c4a-0000-4000-8000-000000000000</RequestId>
        </ErrorResponse>
        """

    static let noSuchEntity = """
        <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
        <Message>Role missing not found</Message><message>Role missing not found</message></Error>\
        <RequestId>Mj8EwfeDcjS5hY7x0JTEKSCEIMPlCAg0P4KEOa5VLYdpycSs3E55</RequestId></ErrorResponse>
        """

    static let noSuchBucket = """
        <?xml version="1.0" encoding="utf-8"?>
        <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>missing-bucket</BucketName>\
        <RequestId>cwtZON4d0FpYgzXWgaChX2KvVZBPJFaqlaRvV4dc0bF372GJGv9i</RequestId>\
        <HostId>9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=</HostId></Error>
        """

    static let couldNotFindEndpoint = """
        {"__type": "ValidationException", "Message": "Could not find endpoint 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope'."}
        """
}
