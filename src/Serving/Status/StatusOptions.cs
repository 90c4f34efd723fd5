using System.Globalization;

namespace AllReduceNet.Serving.Status;

/// <summary>The status page's settings (command line <c>--status-*</c>; docs/status-page.md).</summary>
/// <param name="IntervalMs">Time between two samples of the history (<c>--status-interval-ms</c>), and the page's refresh period.</param>
/// <param name="HistoryLength">Samples kept (<c>--status-history</c>): with the defaults, one hour in 720 samples.</param>
internal sealed record StatusOptions(int IntervalMs = StatusOptions.DefaultIntervalMs, int HistoryLength = StatusOptions.DefaultHistoryLength)
{
    public const int DefaultIntervalMs = 5000;
    public const int DefaultHistoryLength = 720;

    /// <summary>Reads the options; absent ones keep their defaults.</summary>
    /// <exception cref="ServingConfigurationException">A value is not an integer in its range (named in the message).</exception>
    public static StatusOptions From(IConfiguration configuration) => new(
        Integer(configuration, "status-interval-ms", DefaultIntervalMs, 100, 3_600_000),
        Integer(configuration, "status-history", DefaultHistoryLength, 2, 100_000));

    private static int Integer(IConfiguration configuration, string name, int fallback, int min, int max)
    {
        string? text = configuration[name];
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new ServingConfigurationException($"--{name} is '{text}', but must be an integer from {min} to {max}.");
        return value;
    }
}
