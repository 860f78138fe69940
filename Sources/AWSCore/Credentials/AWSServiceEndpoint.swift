/// Where to send a service's requests and how to sign them.
/// Overrides as in the AWS CLI: AWS_ENDPOINT_URL_<SERVICE> (the service id upper-cased, spaces as
/// underscores, e.g. AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), then AWS_ENDPOINT_URL; both ignored when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. The config file's endpoint_url is not read.
/// Without an override, the public HTTPS endpoint; China regions use amazonaws.com.cn.
public struct AWSServiceEndpoint {
    /// - Parameter serviceID: the SDK service id: "SageMaker", "SageMaker Runtime", "STS", "IAM", "S3".
    ///   Another id gets `<id lower-cased, spaces removed>.<region>.<suffix>` signed with that name.
    /// - Returns: the base URL without a trailing "/" (S3 is path-style: append "/bucket/key").
    public static func url(serviceID: String, region: String, env: AWSConfigEnvironment) -> (url: String, signingRegion: String, signingName: String) {
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        let (host, signingRegion, signingName): (String, String, String)
        switch serviceID.lowercased() {
        case "sagemaker": (host, signingRegion, signingName) = ("api.sagemaker.\(region).\(suffix)", region, "sagemaker")
        case "sagemaker runtime": (host, signingRegion, signingName) = ("runtime.sagemaker.\(region).\(suffix)", region, "sagemaker")
        case "sts": (host, signingRegion, signingName) = ("sts.\(region).\(suffix)", region, "sts")
        case "s3": (host, signingRegion, signingName) = ("s3.\(region).\(suffix)", region, "s3")
        case "iam":
            // IAM is global: one endpoint per partition, signed for that partition's home region.
            if region.hasPrefix("cn-") {
                (host, signingRegion, signingName) = ("iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "iam")
            } else if region.hasPrefix("us-gov-") {
                (host, signingRegion, signingName) = ("iam.us-gov.amazonaws.com", "us-gov-west-1", "iam")
            } else {
                (host, signingRegion, signingName) = ("iam.amazonaws.com", "us-east-1", "iam")
            }
        default:
            let name = serviceID.lowercased().filter { $0 != " " }
            (host, signingRegion, signingName) = ("\(name).\(region).\(suffix)", region, name)
        }
        if let override = overrideURL(serviceID: serviceID, env: env) {
            return (override, signingRegion, signingName)
        }
        return ("https://\(host)", signingRegion, signingName)
    }

    /// The variable that overrides one service, e.g. AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
    public static func environmentVariable(serviceID: String) -> String {
        "AWS_ENDPOINT_URL_" + serviceID.uppercased().map { $0 == " " || $0 == "-" ? "_" : $0 }.map(String.init).joined()
    }

    static func overrideURL(serviceID: String, env: AWSConfigEnvironment) -> String? {
        if env.value("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() == "true" { return nil }
        guard let url = env.value(environmentVariable(serviceID: serviceID)) ?? env.value("AWS_ENDPOINT_URL") else { return nil }
        var trimmed = Substring(url)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}
