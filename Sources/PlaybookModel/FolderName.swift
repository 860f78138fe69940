/// The rule for names that become folders under outputs/: playbook names, target names and
/// cell ids (`outputs/<playbook>/<target>/cells/<id>/`). Letters, digits, '-' and '_' keep a
/// name from leaving its folder ('..', '/'); the length limit keeps it a valid file name
/// (255 bytes on common file systems) with room to spare.
public enum FolderName {
    /// At most this many bytes of UTF-8 (a letter may take up to 4).
    public static let maxBytes = 100

    /// What is wrong with `name` as a `what` ("cell id", "target name"), or nil when it is fine.
    public static func problem(_ name: String, what: String) -> String? {
        if name.isEmpty { return "\(what) is empty" }
        if !name.allSatisfy(TemplateString.isNameCharacter) {
            return "\(what) '\(name)' may hold only letters, digits, '-' and '_'"
        }
        let bytes = name.utf8.count
        if bytes > maxBytes {
            return "\(what) '\(name.prefix(20))…' is \(bytes) bytes long; at most \(maxBytes) are allowed (UTF-8)"
        }
        return nil
    }
}
