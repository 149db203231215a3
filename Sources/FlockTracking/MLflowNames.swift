/// Keys as MLflow takes them: letters, digits, `_ - . / :` and spaces, at most 250
/// characters; values at most 6,000 characters (MLflow's limits for params).
public enum MLflowNames {
    /// `model[0].units` → `model.0.units`; any other character MLflow refuses → `_`.
    public static func key(_ path: String) -> String {
        var result = ""
        for character in path {
            switch character {
            case "[": result.append(".")
            case "]": continue
            case "_", "-", ".", "/", ":", " ": result.append(character)
            default: result.append(character.isLetter || character.isNumber ? character : "_")
            }
        }
        return String(result.prefix(250))
    }

    public static func value(_ text: String) -> String { String(text.prefix(6000)) }
}
