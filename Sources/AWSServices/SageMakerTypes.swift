import Foundation

/// An endpoint's status as SageMaker reports it. A struct rather than an enum so a status
/// added later still reads (as its raw text).
public struct EndpointStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let outOfService = EndpointStatus(rawValue: "OutOfService")
    public static let creating = EndpointStatus(rawValue: "Creating")
    public static let updating = EndpointStatus(rawValue: "Updating")
    public static let systemUpdating = EndpointStatus(rawValue: "SystemUpdating")
    public static let rollingBack = EndpointStatus(rawValue: "RollingBack")
    public static let inService = EndpointStatus(rawValue: "InService")
    public static let deleting = EndpointStatus(rawValue: "Deleting")
    public static let failed = EndpointStatus(rawValue: "Failed")
    public static let updateRollbackFailed = EndpointStatus(rawValue: "UpdateRollbackFailed")

    /// Still changing: polling again may see another status.
    public var isTransitional: Bool {
        [.creating, .updating, .systemUpdating, .rollingBack, .deleting].contains(self)
    }

    public var description: String { rawValue }
}

/// What DescribeEndpoint says about an endpoint.
public struct EndpointDescription: Sendable, Equatable {
    public var name: String
    public var arn: String
    public var configName: String
    public var status: EndpointStatus
    /// Why it failed, when `status` is Failed.
    public var failureReason: String?
    public var creationTime: Date?
    public var lastModifiedTime: Date?

    public init(name: String, arn: String, configName: String, status: EndpointStatus, failureReason: String? = nil,
                creationTime: Date? = nil, lastModifiedTime: Date? = nil) {
        self.name = name
        self.arn = arn
        self.configName = configName
        self.status = status
        self.failureReason = failureReason
        self.creationTime = creationTime
        self.lastModifiedTime = lastModifiedTime
    }
}

/// One endpoint in ListEndpoints.
public struct EndpointSummary: Sendable, Equatable {
    public var name: String
    public var arn: String
    public var status: EndpointStatus
    public var creationTime: Date?
    public var lastModifiedTime: Date?

    public init(name: String, arn: String, status: EndpointStatus, creationTime: Date? = nil, lastModifiedTime: Date? = nil) {
        self.name = name
        self.arn = arn
        self.status = status
        self.creationTime = creationTime
        self.lastModifiedTime = lastModifiedTime
    }
}

/// What DescribeEndpointConfig says, as far as cellbook uses it.
public struct EndpointConfigDescription: Sendable, Equatable {
    public struct Variant: Sendable, Equatable {
        public var modelName: String
        public var instanceType: String?
        public var instanceCount: Int?

        public init(modelName: String, instanceType: String? = nil, instanceCount: Int? = nil) {
            self.modelName = modelName
            self.instanceType = instanceType
            self.instanceCount = instanceCount
        }
    }

    public var name: String
    public var arn: String
    /// The production variants, in order.
    public var variants: [Variant]

    public init(name: String, arn: String, variants: [Variant]) {
        self.name = name
        self.arn = arn
        self.variants = variants
    }
}

/// What DescribeModel says, as far as cellbook uses it.
public struct ModelDescription: Sendable, Equatable {
    public var name: String
    public var arn: String
    public var executionRoleARN: String?
    /// The primary container's image URI.
    public var image: String?

    public init(name: String, arn: String, executionRoleARN: String? = nil, image: String? = nil) {
        self.name = name
        self.arn = arn
        self.executionRoleARN = executionRoleARN
        self.image = image
    }
}

/// The answer of InvokeEndpoint.
public struct InvocationResult: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]
    /// The model's Content-Type.
    public var contentType: String?
    /// The production variant that answered (x-Amzn-Invoked-Production-Variant).
    public var invokedVariant: String?

    public init(status: Int, body: [UInt8], contentType: String? = nil, invokedVariant: String? = nil) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.invokedVariant = invokedVariant
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
