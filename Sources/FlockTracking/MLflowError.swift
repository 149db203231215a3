/// A request the MLflow server did not answer, or refused: the endpoint, HTTP status and
/// MLflow's `error_code`, and whether sending it again may help.
public struct MLflowError: Error, CustomStringConvertible, Sendable {
    public let endpoint: String
    /// nil when no answer came (refused connection, timeout).
    public let status: Int?
    public let code: String?
    public let retryable: Bool
    public let message: String

    public var description: String {
        let answer = status.map { "HTTP \($0)\(code.map { " \($0)" } ?? "")" } ?? "no answer"
        return "\(endpoint): \(answer): \(message)"
    }

    static func malformed(_ endpoint: String, _ answer: [String: Any]) -> MLflowError {
        MLflowError(endpoint: endpoint, status: 200, code: nil, retryable: false,
                    message: "unexpected answer \(String(describing: answer).prefix(200))")
    }
}
