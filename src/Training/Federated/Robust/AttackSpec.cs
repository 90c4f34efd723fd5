using System.Globalization;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// A parsed --attack with --malicious: the attack, its parameter, and how many of the population's clients are
/// malicious. The malicious clients are a seeded choice (<see cref="ClientAttack"/>), the same whatever the ranks.
/// </summary>
/// <param name="Kind">The attack.</param>
/// <param name="Parameter">signflip/scale: K; gaussian: S; alie: z (NaN: the paper's z_max for the round's n and m); else NaN.</param>
/// <param name="MaliciousClients">How many of the population are malicious.</param>
internal sealed record AttackSpec(AttackKind Kind, double Parameter, int MaliciousClients)
{
    public const string Forms = "signflip[:K], scale:K, labelflip, gaussian[:S] or alie[:Z]";

    /// <summary>Parses --attack and --malicious (a fraction in (0, 1) of <paramref name="clients"/>, or a count).</summary>
    /// <exception cref="TrainingException">Unknown attack, bad parameter, or a malicious share that is not in range (named).</exception>
    public static AttackSpec Parse(string attack, string malicious, int clients)
    {
        string value = attack.Trim().ToLowerInvariant();
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon], argument = colon < 0 ? "" : value[(colon + 1)..];
        var (kind, parameter) = name switch
        {
            "signflip" => (AttackKind.SignFlip, colon < 0 ? 1 : Positive(attack, argument, "signflip:K needs a positive scale K, e.g. signflip:4")),
            "scale" => (AttackKind.Scale, Positive(attack, argument, "scale:K needs a positive factor K, e.g. scale:10")),
            "labelflip" when colon < 0 => (AttackKind.LabelFlip, double.NaN),
            "gaussian" => (AttackKind.Gaussian, colon < 0 ? 1 : Positive(attack, argument, "gaussian:S needs a positive standard deviation S, e.g. gaussian:1")),
            "alie" => (AttackKind.Alie, colon < 0 ? double.NaN : Positive(attack, argument, "alie:Z needs a positive z, e.g. alie:1")),
            _ => throw new TrainingException($"--attack '{attack}' is unknown; use {Forms}."),
        };
        return new AttackSpec(kind, parameter, MaliciousCount(malicious, clients));
    }

    /// <summary>--malicious F: a fraction in (0, 1) of the clients (rounded to the nearest count), or a count from 1 to the clients.</summary>
    public static int MaliciousCount(string text, int clients)
    {
        string value = text.Trim();
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            if (count < 1 || count > clients)
                throw new TrainingException($"--malicious {text}: a count must be from 1 to the {clients} clients (--clients).");
            return count;
        }
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double fraction) || !(fraction > 0 && fraction < 1))
            throw new TrainingException($"--malicious '{text}' must be a fraction in (0, 1) of the clients (e.g. 0.2) or a whole count (e.g. 20).");
        int rounded = (int)Math.Round(fraction * clients, MidpointRounding.AwayFromZero);
        if (rounded < 1)
            throw new TrainingException($"--malicious {text} of {clients} clients rounds to no malicious client; give at least 1/{clients}.");
        return rounded;
    }

    public override string ToString()
    {
        string parameter = Parameter.ToString(CultureInfo.InvariantCulture);
        string attack = Kind switch
        {
            AttackKind.SignFlip => $"signflip x{parameter}",
            AttackKind.Scale => $"scale x{parameter}",
            AttackKind.LabelFlip => "labelflip",
            AttackKind.Gaussian => $"gaussian std {parameter}",
            _ => double.IsNaN(Parameter) ? "alie (z_max of the round)" : $"alie z {parameter}",
        };
        return $"{attack}, {MaliciousClients} malicious clients";
    }

    private static double Positive(string attack, string argument, string message)
    {
        if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0 && double.IsFinite(value)))
            throw new TrainingException($"--attack '{attack}': {message}.");
        return value;
    }
}
