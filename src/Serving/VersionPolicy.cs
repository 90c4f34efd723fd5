using System.Globalization;

namespace AllReduceNet.Serving;

/// <summary>
/// Which versions of a model are served, as Triton's version_policy: <c>latest:N</c> (the N highest), <c>all</c>, or
/// <c>specific:V1,V2</c>. Triton's default, <c>latest:1</c>, is the default here too.
/// </summary>
public sealed class VersionPolicy
{
    private readonly int _latest;
    private readonly HashSet<long>? _specific;

    private VersionPolicy(string text, int latest, HashSet<long>? specific)
    {
        Text = text;
        _latest = latest;
        _specific = specific;
    }

    /// <summary>The default policy, <c>latest:1</c>.</summary>
    public static VersionPolicy Default { get; } = new("latest:1", 1, null);

    /// <summary>The policy as written on the command line.</summary>
    public string Text { get; }

    /// <summary>Parses <c>latest:N</c>, <c>all</c> or <c>specific:V1,V2</c>.</summary>
    /// <param name="text">The option's value.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ServingConfigurationException">The text is none of the three forms.</exception>
    public static VersionPolicy Parse(string text)
    {
        string trimmed = text.Trim();
        if (trimmed == "all") return new VersionPolicy(trimmed, int.MaxValue, null);
        if (trimmed.StartsWith("latest:", StringComparison.Ordinal)
            && int.TryParse(trimmed.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0)
            return new VersionPolicy(trimmed, n, null);
        if (trimmed.StartsWith("specific:", StringComparison.Ordinal))
        {
            var versions = new HashSet<long>();
            foreach (string part in trimmed[9..].Split(','))
            {
                if (!long.TryParse(part.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v)) { versions.Clear(); break; }
                versions.Add(v);
            }
            if (versions.Count > 0) return new VersionPolicy(trimmed, 0, versions);
        }
        throw new ServingConfigurationException(
            $"--version-policy is '{text}', but must be latest:N (N >= 1), all, or specific:V1,V2 (version numbers).");
    }

    /// <summary>The versions to serve out of those on disk.</summary>
    /// <param name="available">The version numbers found.</param>
    /// <returns>The selected ones, ascending.</returns>
    public IReadOnlyList<long> Select(IEnumerable<long> available)
    {
        var sorted = available.Distinct().Order().ToArray();
        if (_specific is not null) return sorted.Where(_specific.Contains).ToArray();
        return sorted.Length <= _latest ? sorted : sorted[^_latest..];
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
