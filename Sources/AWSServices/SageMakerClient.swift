import AWSCore
import CellbookHTTP
import CellbookJSON
import Foundation

/// The SageMaker control plane: models, endpoint configurations and endpoints.
/// JSON 1.1: `POST /` with `X-Amz-Target: SageMaker.<Op>`, signed as "sagemaker".
///
/// Creates are not repeated blindly: when an attempt fails in a way that may have taken
/// effect (a lost connection, a 500), the client describes the resource first and returns
/// it if it is there.
public struct SageMakerClient: Sendable {
    let sender: AWSRequestSender
    /// MaxResults of each List page (tests make it small to see NextToken followed).
    var pageSize = 100

    public init(_ session: AWSSession) {
        sender = AWSRequestSender(session: session, service: "SageMaker", serviceID: "SageMaker", errorFormat: .json)
    }

    /// The session its calls are made in (region, credentials).
    public var session: AWSSession { sender.session }

    // MARK: - Models

    /// CreateModel with one container; returns the model's ARN. `environment` is sent to
    /// SageMaker only, never put into a message.
    public func createModel(name: String, executionRoleARN: String, image: String, environment: [String: String],
                            tags: [(String, String)] = []) async throws -> String {
        var container: JSONObject = ["Image": .string(image)]
        // Sorted so the same inputs always give the same request.
        var env = JSONObject()
        for key in environment.keys.sorted() { env[key] = .string(environment[key]!) }
        container["Environment"] = .object(env)
        var body: JSONObject = [
            "ModelName": .string(name), "ExecutionRoleArn": .string(executionRoleARN), "PrimaryContainer": .object(container),
        ]
        if !tags.isEmpty { body["Tags"] = Self.tagList(tags) }
        return try await call("CreateModel", body, idempotent: false, verifyBeforeRetry: { _ in
            try await describeModel(name: name)?.arn
        }) { try Self.string($0, "ModelArn", "CreateModel") }
    }

    /// DescribeModel; nil when there is no such model.
    public func describeModel(name: String) async throws -> ModelDescription? {
        try await describe("DescribeModel", ["ModelName": .string(name)]) { json in
            ModelDescription(
                name: json["ModelName"]?.stringValue ?? name,
                arn: try Self.string(json, "ModelArn", "DescribeModel"),
                executionRoleARN: json["ExecutionRoleArn"]?.stringValue,
                image: json["PrimaryContainer"]?["Image"]?.stringValue)
        }
    }

    /// DeleteModel; false when it was already gone.
    public func deleteModel(name: String) async throws -> Bool {
        try await delete("DeleteModel", ["ModelName": .string(name)])
    }

    // MARK: - Endpoint configurations

    /// CreateEndpointConfig with one production variant, "AllTraffic"; returns its ARN.
    /// - healthCheckTimeoutSeconds: ContainerStartupHealthCheckTimeoutInSeconds (60...3600),
    ///   how long SageMaker waits for the container to answer /ping (model download included).
    public func createEndpointConfig(name: String, modelName: String, instanceType: String, instanceCount: Int = 1,
                                     healthCheckTimeoutSeconds: Int? = nil, tags: [(String, String)] = []) async throws -> String {
        var variant: JSONObject = [
            "VariantName": "AllTraffic", "ModelName": .string(modelName), "InitialInstanceCount": .int(instanceCount),
            "InstanceType": .string(instanceType), "InitialVariantWeight": 1,
        ]
        if let healthCheckTimeoutSeconds { variant["ContainerStartupHealthCheckTimeoutInSeconds"] = .int(healthCheckTimeoutSeconds) }
        var body: JSONObject = ["EndpointConfigName": .string(name), "ProductionVariants": .array([.object(variant)])]
        if !tags.isEmpty { body["Tags"] = Self.tagList(tags) }
        return try await call("CreateEndpointConfig", body, idempotent: false, verifyBeforeRetry: { _ in
            try await describeEndpointConfig(name: name)?.arn
        }) { try Self.string($0, "EndpointConfigArn", "CreateEndpointConfig") }
    }

    /// DescribeEndpointConfig; nil when there is no such configuration.
    public func describeEndpointConfig(name: String) async throws -> EndpointConfigDescription? {
        try await describe("DescribeEndpointConfig", ["EndpointConfigName": .string(name)]) { json in
            let variants: [EndpointConfigDescription.Variant] = Self.array(json["ProductionVariants"]).map {
                .init(modelName: $0["ModelName"]?.stringValue ?? "", instanceType: $0["InstanceType"]?.stringValue,
                      instanceCount: $0["InitialInstanceCount"]?.intValue)
            }
            return EndpointConfigDescription(
                name: json["EndpointConfigName"]?.stringValue ?? name,
                arn: try Self.string(json, "EndpointConfigArn", "DescribeEndpointConfig"), variants: variants)
        }
    }

    /// DeleteEndpointConfig; false when it was already gone.
    public func deleteEndpointConfig(name: String) async throws -> Bool {
        try await delete("DeleteEndpointConfig", ["EndpointConfigName": .string(name)])
    }

    // MARK: - Endpoints

    /// CreateEndpoint; returns its ARN at once (the endpoint then takes minutes to reach
    /// InService: poll `describeEndpoint`).
    public func createEndpoint(name: String, configName: String, tags: [(String, String)] = []) async throws -> String {
        var body: JSONObject = ["EndpointName": .string(name), "EndpointConfigName": .string(configName)]
        if !tags.isEmpty { body["Tags"] = Self.tagList(tags) }
        return try await call("CreateEndpoint", body, idempotent: false, verifyBeforeRetry: { _ in
            try await describeEndpoint(name: name)?.arn
        }) { try Self.string($0, "EndpointArn", "CreateEndpoint") }
    }

    /// DescribeEndpoint; nil when there is no such endpoint.
    public func describeEndpoint(name: String) async throws -> EndpointDescription? {
        try await describe("DescribeEndpoint", ["EndpointName": .string(name)]) { json in
            EndpointDescription(
                name: json["EndpointName"]?.stringValue ?? name,
                arn: try Self.string(json, "EndpointArn", "DescribeEndpoint"),
                configName: json["EndpointConfigName"]?.stringValue ?? "",
                status: EndpointStatus(rawValue: try Self.string(json, "EndpointStatus", "DescribeEndpoint")),
                failureReason: json["FailureReason"]?.stringValue,
                creationTime: Self.date(json["CreationTime"]),
                lastModifiedTime: Self.date(json["LastModifiedTime"]))
        }
    }

    /// ListEndpoints, every page, newest first; `nameContains` filters on the server.
    public func listEndpoints(nameContains: String? = nil) async throws -> [EndpointSummary] {
        var base: JSONObject = ["MaxResults": .int(pageSize)]
        if let nameContains { base["NameContains"] = .string(nameContains) }
        return try await paginate("ListEndpoints", base, listKey: "Endpoints") { json in
            EndpointSummary(
                name: try Self.string(json, "EndpointName", "ListEndpoints"),
                arn: json["EndpointArn"]?.stringValue ?? "",
                status: EndpointStatus(rawValue: json["EndpointStatus"]?.stringValue ?? ""),
                creationTime: Self.date(json["CreationTime"]),
                lastModifiedTime: Self.date(json["LastModifiedTime"]))
        }
    }

    /// DeleteEndpoint; false when it was already gone. The endpoint goes through Deleting first.
    public func deleteEndpoint(name: String) async throws -> Bool {
        try await delete("DeleteEndpoint", ["EndpointName": .string(name)])
    }

    /// ListModels, every page: (name, ARN); `nameContains` filters on the server.
    public func listModels(nameContains: String? = nil) async throws -> [(name: String, arn: String)] {
        var base: JSONObject = ["MaxResults": .int(pageSize)]
        if let nameContains { base["NameContains"] = .string(nameContains) }
        let found = try await paginate("ListModels", base, listKey: "Models") { json in
            NamedARN(name: try Self.string(json, "ModelName", "ListModels"), arn: json["ModelArn"]?.stringValue ?? "")
        }
        return found.map { ($0.name, $0.arn) }
    }

    /// ListEndpointConfigs, every page: (name, ARN); `nameContains` filters on the server.
    public func listEndpointConfigs(nameContains: String? = nil) async throws -> [(name: String, arn: String)] {
        var base: JSONObject = ["MaxResults": .int(pageSize)]
        if let nameContains { base["NameContains"] = .string(nameContains) }
        let found = try await paginate("ListEndpointConfigs", base, listKey: "EndpointConfigs") { json in
            NamedARN(name: try Self.string(json, "EndpointConfigName", "ListEndpointConfigs"), arn: json["EndpointConfigArn"]?.stringValue ?? "")
        }
        return found.map { ($0.name, $0.arn) }
    }

    private struct NamedARN: Sendable { var name: String, arn: String }

    // MARK: - Tags

    /// ListTags, every page, as (key, value) pairs in the order SageMaker gives them.
    public func listTags(resourceARN: String) async throws -> [(String, String)] {
        let tags = try await paginate("ListTags", ["ResourceArn": .string(resourceARN), "MaxResults": .int(pageSize)], listKey: "Tags") { json in
            Tag(key: json["Key"]?.stringValue ?? "", value: json["Value"]?.stringValue ?? "")
        }
        return tags.map { ($0.key, $0.value) }
    }

    private struct Tag: Sendable { var key: String, value: String }

    // MARK: - Plumbing

    /// One JSON 1.1 call; `decode` reads the response object.
    func call<T>(_ operation: String, _ body: JSONObject, idempotent: Bool = true,
                 verifyBeforeRetry: ((any Error) async throws -> T?)? = nil,
                 decode: (JSONValue) throws -> T) async throws -> T {
        let call = AWSCall(operation: operation, headers: [
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.\(operation)",
        ], body: Array(JSONValue.object(body).serialized().utf8))
        return try await sender.send(call, idempotent: idempotent, verifyBeforeRetry: verifyBeforeRetry) { response in
            let json: JSONValue
            do {
                json = try JSONValue.parse(bytes: response.body)
            } catch {
                throw AWSRequestError.malformedResponse(service: "SageMaker", operation: operation, reason: "the body is not JSON (\(error))")
            }
            return try decode(json)
        }
    }

    /// A Describe call, nil for "Could not find ...".
    func describe<T>(_ operation: String, _ body: JSONObject, decode: (JSONValue) throws -> T) async throws -> T? {
        do {
            return try await call(operation, body, decode: decode)
        } catch let error as AWSServiceError where error.isNotFound {
            return nil
        }
    }

    /// A Delete call: true when deleted, false when it was already gone.
    func delete(_ operation: String, _ body: JSONObject) async throws -> Bool {
        do {
            return try await call(operation, body) { _ in true }
        } catch let error as AWSServiceError where error.isNotFound {
            return false
        }
    }

    /// A List call followed through NextToken.
    func paginate<T>(_ operation: String, _ base: JSONObject, listKey: String, item: (JSONValue) throws -> T) async throws -> [T] {
        var items: [T] = []
        var token: String?
        var seen: Set<String> = []
        repeat {
            var body = base
            if let token { body["NextToken"] = .string(token) }
            let page = try await call(operation, body) { json in
                (try Self.array(json[listKey]).map(item), json["NextToken"]?.stringValue)
            }
            items += page.0
            token = page.1.flatMap { $0.isEmpty ? nil : $0 }
            // A server that repeats a token would keep us here forever.
            if let token, !seen.insert(token).inserted {
                throw AWSRequestError.malformedResponse(service: "SageMaker", operation: operation, reason: "it repeated the NextToken")
            }
        } while token != nil
        return items
    }

    static func tagList(_ tags: [(String, String)]) -> JSONValue {
        .array(tags.map { .object(["Key": .string($0.0), "Value": .string($0.1)]) })
    }

    static func string(_ json: JSONValue, _ key: String, _ operation: String) throws -> String {
        guard let value = json[key]?.stringValue else {
            throw AWSRequestError.malformedResponse(service: "SageMaker", operation: operation, reason: "it has no \(key)")
        }
        return value
    }

    static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    /// JSON 1.1 timestamps are epoch seconds (moto sends milliseconds as a fraction).
    static func date(_ value: JSONValue?) -> Date? {
        value?.doubleValue.map { Date(timeIntervalSince1970: $0) }
    }
}
