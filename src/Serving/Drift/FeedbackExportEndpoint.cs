using AllReduceNet.Training.Data;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// <c>GET /v2/models/{name}/feedback/export[?max_rows=N]</c>, behind the API key: the labeled rows the drift monitors
/// still hold for every served version of the model (the requests as sent and the labels feedback gave), as one
/// <see cref="LabeledDataFile"/> (application/octet-stream), so that a trainer retrains on them (Lifecycle.dll,
/// docs/lifecycle.md). At most <c>max_rows</c> rows (default and ceiling <see cref="MaxRows"/>), the latest of each
/// version; bounded anyway by <c>--drift-store-rows</c> per version. The header <c>X-Rows</c> gives the count.
/// </summary>
internal static class FeedbackExportEndpoint
{
    /// <summary>The most rows one export holds (100,000 rows of 784 floats: 314 MB).</summary>
    public const int MaxRows = 100_000;

    public static void Map(WebApplication app) =>
        app.MapGet("/v2/models/{name}/feedback/export", Export).AddEndpointFilter(ManagementAuthorization.Require);

    private static IResult Export(string name, HttpContext context, ModelRepository models, DriftMonitors monitors)
    {
        int maxRows = MaxRows;
        string? asked = context.Request.Query["max_rows"];
        if (asked is not null && (!int.TryParse(asked, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxRows) || maxRows < 1 || maxRows > MaxRows))
            throw ApiException.BadRequest($"max_rows must be an integer from 1 to {MaxRows}, but was '{asked}'.");
        var versions = models.Versions(name);
        if (versions.Count == 0) models.Get(name, null); // throws the repository's own 404, naming the model
        int features = versions[0].InputSize, classes = versions[0].Classes;
        if (versions.Any(v => v.InputSize != features || v.Classes != classes))
            throw new ApiException(StatusCodes.Status409Conflict, $"the served versions of model '{name}' differ in features or classes; they cannot share one file.");
        // Each version counts its own rows; interleaving the versions by those counts keeps roughly the order of arrival.
        var requests = versions.SelectMany(v => monitors.For(v).LabeledRequests()).OrderBy(r => r.Order).ToList();
        var chosen = new List<(float[] Input, int[] Labels)>();
        int rows = 0;
        for (int i = requests.Count - 1; i >= 0 && rows < maxRows; i--)
        {
            var (_, input, labels) = requests[i];
            int take = Math.Min(labels.Length, maxRows - rows);
            int skip = labels.Length - take;
            chosen.Add((input.AsSpan(skip * features, take * features).ToArray(), labels[skip..]));
            rows += take;
        }
        chosen.Reverse();
        var allInputs = new float[(long)rows * features];
        var allLabels = new int[rows];
        int at = 0;
        foreach (var (input, labels) in chosen)
        {
            input.CopyTo(allInputs, (long)at * features);
            labels.CopyTo(allLabels, at);
            at += labels.Length;
        }
        context.Response.Headers["X-Rows"] = rows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Bytes(LabeledDataFile.Encode(allInputs, allLabels, features, classes), "application/octet-stream");
    }
}
