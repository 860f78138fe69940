/// The Hugging Face LLM inference container (TGI) for a region, as the SageMaker SDK's
/// `image_uri_config/huggingface-llm.json` lists it: one ECR account for most regions, others
/// for the opt-in and partitioned ones.
public enum SageMakerImages {
    /// The tutorial's image: TGI 2.0 on CUDA 12.1.
    public static let tutorialTag = "2.1-tgi2.0-gpu-py310-cu121-ubuntu22.04"
    public static let repository = "huggingface-pytorch-tgi-inference"

    static let accounts: [String: String] = [
        "af-south-1": "626614931356", "ap-east-1": "871362719292", "eu-south-1": "692866216735",
        "me-south-1": "217643126080", "cn-north-1": "727897471807", "cn-northwest-1": "727897471807",
        "us-gov-west-1": "442386744353",
    ]

    public static func account(region: String) -> String { accounts[region] ?? "763104351884" }

    public static func tgi(region: String, tag: String = tutorialTag) -> String {
        let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "\(account(region: region)).dkr.ecr.\(region).\(domain)/\(repository):\(tag)"
    }
}
