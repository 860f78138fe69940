/// Finds credentials the way the AWS CLI does, for the sources cellbook supports:
/// 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) in the environment;
/// 2. the profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default") in the credentials file
///    (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, section [NAME]);
/// 3. the same profile in the config file (AWS_CONFIG_FILE or ~/.aws/config, [profile NAME] or [default]).
/// A profile the CLI would resolve through assume-role, SSO, a credential process or web identity is
/// an error naming that profile: the CLI would prefer those over any static keys, so falling back
/// to the keys silently would sign as someone else.
public struct AWSCredentialChain {
    /// Profile settings that mean "the CLI gets keys some other way" (checked in this order).
    static let unsupportedSettings = ["role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]

    public static func resolve(_ env: AWSConfigEnvironment) throws -> AWSCredentials {
        var searched: [String] = []

        // 1. Environment.
        let envKey = env.value("AWS_ACCESS_KEY_ID"), envSecret = env.value("AWS_SECRET_ACCESS_KEY")
        switch (envKey, envSecret) {
        case let (key?, secret?):
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: env.value("AWS_SESSION_TOKEN") ?? env.value("AWS_SECURITY_TOKEN"),
                                  source: "environment (AWS_ACCESS_KEY_ID)")
        case (_?, nil):
            throw AWSConfigError.partialCredentials(location: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
        case (nil, _?):
            throw AWSConfigError.partialCredentials(location: "the environment", missing: "AWS_ACCESS_KEY_ID")
        case (nil, nil):
            searched.append("environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set)")
        }

        // 2–3. The profile in both files. Read both first: an assume-role or SSO setting in
        // either outranks static keys in the CLI.
        let profile = env.profile
        let credentialsPath = env.credentialsFilePath, configPath = env.configFilePath
        let credentialsFile = try AWSProfileFile.load(path: credentialsPath)
        let configFile = try AWSProfileFile.load(path: configPath)
        let fromCredentials = credentialsFile?.sections[profile.name]
        let fromConfig = configFile?.configProfile(profile.name)
        let configSection = profile.name == "default" ? "[default]" : "[profile \(profile.name)]"

        for (section, location) in [(fromConfig, configPath), (fromCredentials, credentialsPath)] {
            if let section, let setting = unsupportedSettings.first(where: { section[$0] != nil }) {
                throw AWSConfigError.unsupportedCredentialSource(profile: profile.name, location: location, setting: setting)
            }
        }
        if env.value("AWS_WEB_IDENTITY_TOKEN_FILE") != nil, env.value("AWS_ROLE_ARN") != nil {
            throw AWSConfigError.unsupportedCredentialSource(
                profile: nil, location: "the environment (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)", setting: "web identity")
        }

        for (file, section, path, label) in [
            (credentialsFile, fromCredentials, credentialsPath, "[\(profile.name)]"),
            (configFile, fromConfig, configPath, configSection),
        ] {
            let place = "\(path) \(label)"
            guard file != nil else { searched.append("\(place) (file not found)"); continue }
            guard let section else { searched.append("\(place) (no such section)"); continue }
            switch (section["aws_access_key_id"].nonEmpty, section["aws_secret_access_key"].nonEmpty) {
            case let (key?, secret?):
                return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                      sessionToken: section["aws_session_token"].nonEmpty ?? section["aws_security_token"].nonEmpty,
                                      source: place)
            case (_?, nil): throw AWSConfigError.partialCredentials(location: place, missing: "aws_secret_access_key")
            case (nil, _?): throw AWSConfigError.partialCredentials(location: place, missing: "aws_access_key_id")
            case (nil, nil): searched.append("\(place) (no aws_access_key_id)")
            }
        }

        if profile.explicit, fromCredentials == nil, fromConfig == nil {
            throw AWSConfigError.profileNotFound(name: profile.name, selectedBy: profile.source,
                                                 searched: ["\(credentialsPath) [\(profile.name)]", "\(configPath) \(configSection)"])
        }
        for variable in ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"] where env.value(variable) != nil {
            throw AWSConfigError.unsupportedCredentialSource(profile: nil, location: "the environment (\(variable))",
                                                             setting: "container credentials")
        }
        searched.append("EC2 instance metadata and container credentials (not supported by cellbook)")
        throw AWSConfigError.noCredentials(searched: searched)
    }
}

private extension Optional where Wrapped == String {
    /// Nil for a missing or empty value: `aws_session_token =` means no token.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
