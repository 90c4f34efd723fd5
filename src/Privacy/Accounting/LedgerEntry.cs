using System.Text.Json;
using System.Text.Json.Nodes;

namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// One line of the privacy ledger: a range of releases about one data set, when it was recorded, and what the
/// accountant said about the data set once it was added (for people reading the file; composition recomputes from
/// the ranges, never from these numbers).
/// </summary>
/// <param name="DatasetId">The data set (see <see cref="DatasetIdentity"/>).</param>
/// <param name="Range">The releases.</param>
/// <param name="TimeUtc">When the range was recorded.</param>
/// <param name="Delta">The δ at which <paramref name="EpsilonAfter"/> is given.</param>
/// <param name="EpsilonAfter">ε of the whole data set (all runs) after this entry, by the RDP accountant.</param>
public sealed record LedgerEntry(string DatasetId, ReleaseRange Range, DateTimeOffset TimeUtc, double Delta, double EpsilonAfter)
{
    /// <summary>The mechanism's name in the file: "subsampled-gaussian", or "gaussian" for q = 1.</summary>
    public string MechanismName => Range.Release.IsPlainGaussian ? "gaussian" : "subsampled-gaussian";

    /// <summary>A source's name in the file.</summary>
    public static string SourceName(ReleaseSource source) => source switch
    {
        ReleaseSource.DpSgdStep => "dp-sgd",
        ReleaseSource.FederatedRound => "federated-round",
        ReleaseSource.ParameterServerPush => "ps-push",
        _ => throw new PrivacyException($"unknown release source {source}"),
    };

    /// <summary>The entry as one line of JSON, without the newline.</summary>
    public string ToJsonLine()
    {
        var json = new JsonObject
        {
            ["dataset"] = DatasetId,
            ["run"] = Range.RunId,
            ["time"] = TimeUtc.ToUniversalTime().ToString("O"),
            ["mechanism"] = new JsonObject
            {
                ["kind"] = MechanismName,
                ["q"] = Range.Release.SamplingRate,
                ["sigma"] = Range.Release.NoiseMultiplier,
            },
            ["source"] = SourceName(Range.Source),
            ["firstStep"] = Range.FirstStep,
            ["steps"] = Range.Steps,
            // JSON has no infinity: a release without noise (sigma = 0) leaves epsilon unbounded, written as null.
            ["accountant"] = new JsonObject
            {
                ["kind"] = "rdp", ["delta"] = Delta,
                ["epsilon"] = double.IsFinite(EpsilonAfter) ? JsonValue.Create(EpsilonAfter) : null,
            },
        };
        return json.ToJsonString();
    }

    /// <summary>Parses one ledger line; a missing or mistyped field is refused with its name.</summary>
    /// <param name="line">The JSON text of the line.</param>
    /// <param name="where">"FILE:LINE", for the error message.</param>
    public static LedgerEntry Parse(string line, string where)
    {
        try
        {
            var json = JsonNode.Parse(line) as JsonObject ?? throw new PrivacyException($"{where}: a ledger line must be a JSON object");
            var mechanism = json["mechanism"] as JsonObject ?? throw new PrivacyException($"{where}: field 'mechanism' is missing");
            string kind = Required<string>(mechanism, "kind", where);
            double q = Required<double>(mechanism, "q", where);
            if (kind == "gaussian" && q != 1) throw new PrivacyException($"{where}: a 'gaussian' mechanism must have q = 1; got {PrivacyArguments.Format(q)}");
            if (kind != "gaussian" && kind != "subsampled-gaussian")
                throw new PrivacyException($"{where}: unknown mechanism '{kind}' (expected subsampled-gaussian or gaussian)");
            var accountant = json["accountant"] as JsonObject ?? throw new PrivacyException($"{where}: field 'accountant' is missing");
            var range = new ReleaseRange(
                Required<string>(json, "run", where),
                ParseSource(Required<string>(json, "source", where), where),
                Required<long>(json, "firstStep", where),
                Required<long>(json, "steps", where),
                new GaussianRelease(q, Required<double>(mechanism, "sigma", where)));
            try { range.Validate(); }
            catch (PrivacyException error) { throw new PrivacyException($"{where}: {error.Message}", error); }
            var time = DateTimeOffset.Parse(Required<string>(json, "time", where), System.Globalization.CultureInfo.InvariantCulture);
            return new LedgerEntry(Required<string>(json, "dataset", where), range, time,
                Required<double>(accountant, "delta", where),
                accountant.ContainsKey("epsilon") && accountant["epsilon"] is null
                    ? double.PositiveInfinity : Required<double>(accountant, "epsilon", where));
        }
        catch (Exception error) when (error is JsonException or FormatException or InvalidOperationException)
        {
            throw new PrivacyException($"{where}: not a valid ledger line ({error.Message})", error);
        }
    }

    private static ReleaseSource ParseSource(string name, string where) => name switch
    {
        "dp-sgd" => ReleaseSource.DpSgdStep,
        "federated-round" => ReleaseSource.FederatedRound,
        "ps-push" => ReleaseSource.ParameterServerPush,
        _ => throw new PrivacyException($"{where}: unknown source '{name}' (expected dp-sgd, federated-round or ps-push)"),
    };

    private static T Required<T>(JsonObject json, string field, string where)
    {
        var node = json[field] ?? throw new PrivacyException($"{where}: field '{field}' is missing");
        return node.GetValue<T>();
    }
}
