using System.Globalization;

namespace AllReduceNet.Perf;

/// <summary>Reads sizes such as 8, 64K, 1M, 2G (powers of 1024), as nccl-tests does.</summary>
public static class SizeParser
{
    public static long Parse(string text, string optionName)
    {
        var t = text.Trim().ToUpperInvariant();
        long unit = 1;
        if (t.EndsWith('B')) t = t[..^1];
        if (t.EndsWith('K')) { unit = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('M')) { unit = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('G')) { unit = 1L << 30; t = t[..^1]; }
        if (!long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) || n < 0)
            throw new ArgumentException($"--{optionName} '{text}' is not a size such as 8, 64K, 1M or 256M.");
        return n * unit;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}G",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}M",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}K",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
