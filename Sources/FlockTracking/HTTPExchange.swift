import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A blocking HTTP request through URLSession (FoundationNetworking on Linux), abandoned
/// at `deadline` seconds even when the session's own timeout does not fire.
enum HTTPExchange {
    static func perform(_ request: URLRequest, deadline: Double, endpoint: String) throws -> (Data, Int) {
        let box = ResultBox()
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.set(.failure(MLflowError(endpoint: endpoint, status: nil, code: nil, retryable: true, message: error.localizedDescription)))
            } else {
                box.set(.success((data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0)))
            }
        }
        task.resume()
        guard let result = box.wait(seconds: deadline) else {
            task.cancel()
            throw MLflowError(endpoint: endpoint, status: nil, code: nil, retryable: true, message: "no answer within \(deadline) s")
        }
        return try result.get()
    }
}

/// The completion handler's result, handed from URLSession's thread to the waiting one.
private final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<(Data, Int), MLflowError>?

    func set(_ value: Result<(Data, Int), MLflowError>) {
        condition.lock(); result = value; condition.broadcast(); condition.unlock()
    }

    func wait(seconds: Double) -> Result<(Data, Int), MLflowError>? {
        let limit = Date(timeIntervalSinceNow: seconds)
        condition.lock(); defer { condition.unlock() }
        while result == nil && condition.wait(until: limit) {}
        return result
    }
}
