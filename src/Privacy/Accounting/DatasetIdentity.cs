using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The ledger's key for a data set: its name and a SHA-256 over its files' names, lengths and contents, so the same
/// data under another path is the same data set, and changed data is a different one.
/// </summary>
public static class DatasetIdentity
{
    /// <summary>"NAME:sha256:HEX" over the files, taken in ordinal order of their file names.</summary>
    /// <param name="name">A human name for the data set (e.g. "mnist"), without ':'.</param>
    /// <param name="files">The data files.</param>
    public static string Compute(string name, IEnumerable<string> files)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains(':'))
            throw new PrivacyException($"data set name must be non-empty and without ':'; got '{name}'");
        ArgumentNullException.ThrowIfNull(files);
        var paths = files.ToList();
        if (paths.Count == 0) throw new PrivacyException($"data set {name}: no data files given");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string path in paths.OrderBy(p => System.IO.Path.GetFileName(p), StringComparer.Ordinal))
        {
            if (!File.Exists(path)) throw new PrivacyException($"data set {name}: data file '{path}' does not exist");
            byte[] header = Encoding.UTF8.GetBytes($"{System.IO.Path.GetFileName(path)}\n{new FileInfo(path).Length}\n");
            hash.AppendData(header);
            using var stream = File.OpenRead(path);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, read);
        }
        return $"{name}:sha256:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
    }
}
