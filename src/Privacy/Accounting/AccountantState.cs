using System.Text.Json;

namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// What a checkpoint keeps of the accountant: its orders and its history of (q, σ, steps). RDP values are not stored
/// but recomputed on restore, so a checkpoint never carries numbers that disagree with its own history.
/// </summary>
/// <param name="Orders">The Rényi orders.</param>
/// <param name="History">The composed steps, in order.</param>
public sealed record AccountantState(double[] Orders, AccountedSteps[] History)
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The state as one line of JSON (doubles written to round-trip exactly).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses <see cref="ToJson"/>'s output; refuses text that is not an accountant state.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where the text came from (a checkpoint file name), for the error message.</param>
    public static AccountantState FromJson(string json, string source)
    {
        try
        {
            var state = JsonSerializer.Deserialize<AccountantState>(json, Options);
            if (state?.Orders is null || state.History is null)
                throw new PrivacyException($"{source}: the privacy accountant state lacks its orders or its history");
            return state;
        }
        catch (JsonException error)
        {
            throw new PrivacyException($"{source}: the privacy accountant state is not valid JSON ({error.Message})", error);
        }
    }
}
