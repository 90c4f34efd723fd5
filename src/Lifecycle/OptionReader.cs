using System.Globalization;

namespace AllReduceNet.Lifecycle;

/// <summary>
/// Reads the services' options from the host's configuration (the command line, <c>--name value</c>, as Serve.dll
/// reads its own). Every unusable value is a <see cref="LifecycleConfigurationException"/> that names the option, the
/// value and what is accepted; negative, NaN and infinite numbers are refused, never clamped.
/// </summary>
internal sealed class OptionReader(IConfiguration configuration)
{
    public string? Optional(string name) => string.IsNullOrWhiteSpace(configuration[name]) ? null : configuration[name]!.Trim();

    public string Required(string name, string example) => Optional(name)
        ?? throw new LifecycleConfigurationException($"--{name} is required, e.g. --{name} {example}.");

    public Uri Url(string name, string fallback)
    {
        string text = Optional(name) ?? fallback;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new LifecycleConfigurationException($"--{name} '{text}' is not an http(s) URL, e.g. {fallback}.");
        return url;
    }

    public int Integer(string name, int fallback, int min, int max)
    {
        if (Optional(name) is not { } text) return fallback;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new LifecycleConfigurationException($"--{name} must be an integer from {min} to {max}, but was '{text}'.");
        return value;
    }

    /// <summary>A number in [min, max] (or (min, max] when <paramref name="minExclusive"/>); null when absent.</summary>
    public double? Number(string name, double min, double max, bool minExclusive = false)
    {
        if (Optional(name) is not { } text) return null;
        string range = $"{(minExclusive ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]";
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value)
            || value < min || value > max || (minExclusive && value == min))
            throw new LifecycleConfigurationException($"--{name} must be a number in {range}, but was '{text}'.");
        return value;
    }

    public bool Boolean(string name, bool fallback)
    {
        if (Optional(name) is not { } text) return fallback;
        return text.ToLowerInvariant() switch
        {
            "true" or "yes" or "1" => true,
            "false" or "no" or "0" => false,
            _ => throw new LifecycleConfigurationException($"--{name} must be true or false, but was '{text}'."),
        };
    }

    /// <summary>A duration such as 500ms, 90s, 15m, 2h, 1d, a plain number of seconds, or hh:mm:ss; null when absent.</summary>
    public TimeSpan? Duration(string name, bool allowZero = false)
    {
        if (Optional(name) is not { } text) return null;
        if (ParseDuration(text) is not { } value || value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
            throw new LifecycleConfigurationException(
                $"--{name} must be a {(allowZero ? "non-negative" : "positive")} duration such as 500ms, 90s, 15m, 2h or 1d, but was '{text}'.");
        return value;
    }

    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim().ToLowerInvariant();
        if (text.Contains(':'))
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
        (string number, double unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ when text.EndsWith('h') => (text[..^1], 3600.0),
            _ when text.EndsWith('d') => (text[..^1], 86400.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value)) return null;
        double seconds = value * unit;
        return seconds is < -1e9 or > 1e9 ? null : TimeSpan.FromSeconds(seconds);
    }
}
