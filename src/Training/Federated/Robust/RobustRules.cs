using System.Globalization;

namespace AllReduceNet.Training.Federated;

/// <summary>Parses --aggregator into an <see cref="IRobustRule"/>.</summary>
internal static class RobustRules
{
    public const string Forms = "mean, median, trimmed-mean:BETA, krum:F, multikrum:F,M, bulyan:F or norm-bound:C";

    /// <exception cref="TrainingException">The text is not one of the forms, or its numbers are out of range (named).</exception>
    public static IRobustRule Parse(string text)
    {
        string value = text.Trim().ToLowerInvariant();
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon], argument = colon < 0 ? "" : value[(colon + 1)..];
        switch (name)
        {
            case "mean" when colon < 0: return new MeanRule();
            case "median" when colon < 0: return new MedianRule();
            case "trimmed-mean":
                if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double beta) || !(beta > 0 && beta < 0.5))
                    throw new TrainingException($"--aggregator '{text}': trimmed-mean needs the fraction trimmed on each side, in (0, 0.5), e.g. trimmed-mean:0.2.");
                return new TrimmedMeanRule(beta);
            case "krum":
                return new KrumRule(Count(text, argument, "krum", "f, the malicious clients it must withstand", "krum:2"));
            case "multikrum":
                var parts = argument.Split(',');
                if (parts.Length != 2)
                    throw new TrainingException($"--aggregator '{text}': multikrum needs f and M, the updates averaged, e.g. multikrum:2,5.");
                int f = Count(text, parts[0], "multikrum", "f", "multikrum:2,5");
                int m = Count(text, parts[1], "multikrum", "M", "multikrum:2,5");
                if (m < 1) throw new TrainingException($"--aggregator '{text}': multikrum's M (updates averaged) must be at least 1.");
                return new KrumRule(f, m);
            case "bulyan":
                return new BulyanRule(Count(text, argument, "bulyan", "f", "bulyan:1"));
            case "norm-bound":
                if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double bound) || !(bound > 0 && double.IsFinite(bound)))
                    throw new TrainingException($"--aggregator '{text}': norm-bound needs a finite positive L2 bound C, e.g. norm-bound:0.5.");
                return new NormBoundRule(bound);
            default:
                throw new TrainingException($"--aggregator '{text}' is unknown; use {Forms}.");
        }
    }

    /// <summary>Refuses <paramref name="rule"/> for rounds of <paramref name="inputs"/> updates, naming the rule, n and f.</summary>
    /// <param name="rule">The rule.</param>
    /// <param name="inputs">n, the updates each round gives it.</param>
    /// <param name="what">What the inputs are, e.g. "clients per round (--clients-per-round)".</param>
    /// <exception cref="TrainingException">Fewer inputs than the rule's limit.</exception>
    public static void CheckInputs(IRobustRule rule, int inputs, string what)
    {
        if (inputs < rule.MinimumInputs)
            throw new TrainingException($"--aggregator {rule.Name} needs n >= {rule.MinimumInputs} updates per round ({rule.Limit}), but n = {inputs} {what}.");
    }

    private static int Count(string text, string argument, string rule, string meaning, string example)
    {
        if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            throw new TrainingException($"--aggregator '{text}': {rule} needs {meaning} as a whole number, e.g. {example}.");
        return value;
    }
}
