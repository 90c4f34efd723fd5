using System.Globalization;

namespace AllReduceNet.Training.Federated;

/// <summary>A parsed --partition value: iid, dirichlet:ALPHA or shards:S.</summary>
/// <param name="Kind">The scheme.</param>
/// <param name="Alpha">Dirichlet concentration (smaller: more skew); 0 for other kinds.</param>
/// <param name="ShardsPerClient">Shards each client gets; 0 for other kinds.</param>
internal sealed record PartitionSpec(PartitionKind Kind, double Alpha = 0, int ShardsPerClient = 0)
{
    public static PartitionSpec Iid { get; } = new(PartitionKind.Iid);

    /// <summary>Parses the option's text.</summary>
    /// <exception cref="TrainingException">The text is not one of the three forms, or its number is out of range.</exception>
    public static PartitionSpec Parse(string text)
    {
        string value = text.Trim().ToLowerInvariant();
        if (value == "iid") return Iid;
        int colon = value.IndexOf(':');
        string name = colon < 0 ? value : value[..colon], argument = colon < 0 ? "" : value[(colon + 1)..];
        switch (name)
        {
            case "dirichlet":
                if (!double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) || !(alpha > 0) || !double.IsFinite(alpha))
                    throw new TrainingException($"--partition '{text}' needs a positive concentration after 'dirichlet:', e.g. dirichlet:0.5.");
                return new PartitionSpec(PartitionKind.Dirichlet, Alpha: alpha);
            case "shards":
                if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out int shards) || shards < 1)
                    throw new TrainingException($"--partition '{text}' needs a whole number of shards per client (at least 1) after 'shards:', e.g. shards:2.");
                return new PartitionSpec(PartitionKind.Shards, ShardsPerClient: shards);
            default:
                throw new TrainingException($"--partition '{text}' is unknown; use iid, dirichlet:ALPHA (e.g. dirichlet:0.5) or shards:S (e.g. shards:2).");
        }
    }

    public override string ToString() => Kind switch
    {
        PartitionKind.Dirichlet => string.Create(CultureInfo.InvariantCulture, $"dirichlet:{Alpha}"),
        PartitionKind.Shards => $"shards:{ShardsPerClient}",
        _ => "iid",
    };
}
