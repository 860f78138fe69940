import Foundation
import Testing
@testable import AWSCore

@Suite struct AWSCredentialChainTests {
    static let credentialsFile = """
        # written by aws configure
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = secret-default

        [dev]
        AWS_Access_Key_ID=AKIDDEV
        aws_secret_access_key=secret-dev
        aws_session_token = token-dev
        """

    @Test func environmentBeatsFiles() throws {
        let fixture = try AWSConfigFixture(credentials: Self.credentialsFile)
        let creds = try AWSCredentialChain.resolve(fixture.env([
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secret-env", "AWS_SESSION_TOKEN": "token-env", "AWS_PROFILE": "dev",
        ]))
        #expect(creds == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "secret-env", sessionToken: "token-env",
                                        source: "environment (AWS_ACCESS_KEY_ID)"))
    }

    @Test func defaultProfileFromTheCredentialsFile() throws {
        let fixture = try AWSConfigFixture(credentials: Self.credentialsFile)
        let creds = try AWSCredentialChain.resolve(fixture.env())
        #expect(creds.accessKeyID == "AKIDDEFAULT")
        #expect(creds.secretAccessKey == "secret-default")
        #expect(creds.sessionToken == nil)
        #expect(creds.source == "\(fixture.home)/.aws/credentials [default]")
    }

    @Test func awsProfileSelectsAProfile() throws {
        let fixture = try AWSConfigFixture(credentials: Self.credentialsFile)
        let creds = try AWSCredentialChain.resolve(fixture.env(["AWS_PROFILE": "dev"]))
        #expect(creds.accessKeyID == "AKIDDEV")
        #expect(creds.sessionToken == "token-dev")
        // AWS_DEFAULT_PROFILE works too, and AWS_PROFILE wins over it.
        #expect(try AWSCredentialChain.resolve(fixture.env(["AWS_DEFAULT_PROFILE": "dev"])).accessKeyID == "AKIDDEV")
        #expect(try AWSCredentialChain.resolve(fixture.env(["AWS_PROFILE": "default", "AWS_DEFAULT_PROFILE": "dev"])).accessKeyID == "AKIDDEFAULT")
    }

    @Test func configFileProfileWhenTheCredentialsFileHasNone() throws {
        let fixture = try AWSConfigFixture(config: """
            [default]
            region = us-west-2
            [profile work]
            aws_access_key_id = AKIDWORK
            aws_secret_access_key = secret-work
            """)
        let creds = try AWSCredentialChain.resolve(fixture.env(["AWS_PROFILE": "work"]))
        #expect(creds.accessKeyID == "AKIDWORK")
        #expect(creds.source == "\(fixture.home)/.aws/config [profile work]")
    }

    @Test func credentialsFileBeatsConfigFile() throws {
        let fixture = try AWSConfigFixture(credentials: Self.credentialsFile, config: """
            [default]
            aws_access_key_id = AKIDCONFIG
            aws_secret_access_key = secret-config
            """)
        #expect(try AWSCredentialChain.resolve(fixture.env()).accessKeyID == "AKIDDEFAULT")
    }

    @Test func fileLocationsComeFromTheEnvironment() throws {
        let fixture = try AWSConfigFixture()
        try fixture.write("[default]\naws_access_key_id = AKIDALT\naws_secret_access_key = s\n", to: "alt-credentials")
        let creds = try AWSCredentialChain.resolve(fixture.env(["AWS_SHARED_CREDENTIALS_FILE": "~/alt-credentials"]))
        #expect(creds.accessKeyID == "AKIDALT")
        #expect(creds.source == "\(fixture.home)/alt-credentials [default]")
    }

    @Test func missingEverythingListsEveryPlace() throws {
        let fixture = try AWSConfigFixture()
        let error = #expect(throws: AWSConfigError.self) { try AWSCredentialChain.resolve(fixture.env()) }
        guard case .noCredentials(let searched) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(searched == [
            "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set)",
            "\(fixture.home)/.aws/credentials [default] (file not found)",
            "\(fixture.home)/.aws/config [default] (file not found)",
            "EC2 instance metadata and container credentials (not supported by cellbook)",
        ])
        let message = String(describing: error!)
        #expect(message.contains("AWS_ACCESS_KEY_ID"))
        #expect(message.contains("aws configure"))
        #expect(message.contains("\(fixture.home)/.aws/config"))
    }

    @Test func aProfileWithoutKeysSaysSo() throws {
        let fixture = try AWSConfigFixture(credentials: "[other]\naws_access_key_id = A\naws_secret_access_key = B\n",
                                           config: "[default]\nregion = us-east-1\n")
        let error = #expect(throws: AWSConfigError.self) { try AWSCredentialChain.resolve(fixture.env()) }
        guard case .noCredentials(let searched) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(searched[1] == "\(fixture.home)/.aws/credentials [default] (no such section)")
        #expect(searched[2] == "\(fixture.home)/.aws/config [default] (no aws_access_key_id)")
    }

    @Test func anUnknownProfileIsNamed() throws {
        let fixture = try AWSConfigFixture(credentials: Self.credentialsFile)
        let error = #expect(throws: AWSConfigError.self) { try AWSCredentialChain.resolve(fixture.env(["AWS_PROFILE": "prod"])) }
        #expect(error == .profileNotFound(name: "prod", selectedBy: "AWS_PROFILE", searched: [
            "\(fixture.home)/.aws/credentials [prod]", "\(fixture.home)/.aws/config [profile prod]",
        ]))
        #expect(String(describing: error!).contains("\"prod\""))
    }

    @Test(arguments: [
        ("role_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default", "role_arn"),
        ("sso_session = corp\nsso_account_id = 123456789012", "sso_session"),
        ("sso_start_url = https://corp.awsapps.com/start", "sso_start_url"),
        ("credential_process = /usr/bin/get-creds", "credential_process"),
    ])
    func unsupportedProfilesAreRefusedByName(settings: String, setting: String) throws {
        // Static keys in the credentials file must not be used silently: the CLI would assume the role.
        let fixture = try AWSConfigFixture(credentials: "[ml]\naws_access_key_id = A\naws_secret_access_key = B\n",
                                           config: "[profile ml]\n\(settings)\n")
        let error = #expect(throws: AWSConfigError.self) { try AWSCredentialChain.resolve(fixture.env(["AWS_PROFILE": "ml"])) }
        #expect(error == .unsupportedCredentialSource(profile: "ml", location: "\(fixture.home)/.aws/config", setting: setting))
        let message = String(describing: error!)
        #expect(message.contains("\"ml\""))
        #expect(message.contains("does not support"))
    }

    @Test func halfAKeyIsAnError() throws {
        let fixture = try AWSConfigFixture(credentials: "[default]\naws_access_key_id = AKID\n")
        #expect(throws: AWSConfigError.partialCredentials(location: "the environment", missing: "AWS_SECRET_ACCESS_KEY")) {
            try AWSCredentialChain.resolve(fixture.env(["AWS_ACCESS_KEY_ID": "AKID"]))
        }
        #expect(throws: AWSConfigError.partialCredentials(location: "\(fixture.home)/.aws/credentials [default]", missing: "aws_secret_access_key")) {
            try AWSCredentialChain.resolve(fixture.env())
        }
    }

    @Test func aMalformedFileIsReportedWithItsLine() throws {
        let fixture = try AWSConfigFixture(credentials: "[default]\naws_access_key_id = A\nthis line is wrong\n")
        let error = #expect(throws: AWSConfigError.self) { try AWSCredentialChain.resolve(fixture.env()) }
        guard case .malformedFile(let path, let line, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(path == "\(fixture.home)/.aws/credentials")
        #expect(line == 3)
        #expect(String(describing: error!).hasPrefix("\(fixture.home)/.aws/credentials:3: "))
    }

    @Test func printingCredentialsNeverShowsTheSecretOrToken() {
        let creds = AWSCredentials(accessKeyID: "AKIDPRINT", secretAccessKey: "s3cr3t-VALUE", sessionToken: "t0ken-VALUE", source: "environment (AWS_ACCESS_KEY_ID)")
        var dumped = ""
        dump(creds, to: &dumped)
        for text in [String(describing: creds), String(reflecting: creds), "\(creds)", dumped, String(describing: [creds])] {
            #expect(!text.contains("s3cr3t-VALUE"))
            #expect(!text.contains("t0ken-VALUE"))
            #expect(text.contains("AKIDPRINT"))
        }
        #expect(String(describing: creds).contains("environment (AWS_ACCESS_KEY_ID)"))
    }
}
