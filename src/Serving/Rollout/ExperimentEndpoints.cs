using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>
/// The experiment API. Management, behind the API key (<see cref="ManagementAuthorization"/>):
/// <c>POST /v2/repository/models/{name}/experiment</c> starts one (<see cref="ExperimentSettings"/>; 201),
/// <c>GET</c> the same path reports it, <c>POST .../experiment/promote|rollback|stop</c> ends it by hand.
/// Labels: <c>POST /v2/models/{name}/experiment/feedback</c> with <c>{"request_id": ID, "label": L}</c> (or
/// <c>"labels": [...]</c>, one per row), ID being the X-Request-Id the answer carried.
/// </summary>
internal static class ExperimentEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v2/repository/models/{name}/experiment").AddEndpointFilter(ManagementAuthorization.Require);
        group.MapPost("", StartAsync);
        group.MapGet("", (string name, ExperimentRegistry experiments) => ServingApp.Json(ExperimentStatus.Describe(experiments.Get(name))));
        foreach (string action in new[] { "promote", "rollback", "stop" })
            group.MapPost("/" + action, (string name, ExperimentRegistry experiments) => End(experiments, name, action));
        app.MapPost("/v2/models/{name}/experiment/feedback", FeedbackAsync);
    }

    private static async Task<IResult> StartAsync(string name, HttpContext context, ExperimentRegistry experiments, ServingOptions options)
    {
        using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        var experiment = experiments.Start(name, ExperimentSettings.Parse(body.RootElement));
        return Results.Json(ExperimentStatus.Describe(experiment), AsWritten, statusCode: StatusCodes.Status201Created);
    }

    private static IResult End(ExperimentRegistry experiments, string name, string action)
    {
        var experiment = experiments.Get(name);
        if (experiment.End(action, $"{action} requested through the management API", automatic: false) is null)
            throw new ApiException(StatusCodes.Status409Conflict, $"the experiment on model '{name}' has ended already ({experiment.Decision!.Action}); start a new one.");
        return ServingApp.Json(ExperimentStatus.Describe(experiment));
    }

    private static async Task<IResult> FeedbackAsync(string name, HttpContext context, ExperimentRegistry experiments, ServingOptions options)
    {
        using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("feedback must be {\"request_id\": ID, \"label\": CLASS}.");
        string requestId = ExperimentSettings.String(root, "request_id") is { Length: > 0 } id ? id
            : throw ApiException.BadRequest("feedback needs 'request_id': the X-Request-Id header of the answer being labeled.");
        var labels = new List<long>();
        if (root.TryGetProperty("label", out var label) && label.ValueKind != JsonValueKind.Null) labels.Add(Label(label, "label"));
        if (root.TryGetProperty("labels", out var many) && many.ValueKind != JsonValueKind.Null)
        {
            if (labels.Count > 0) throw ApiException.BadRequest("send either 'label' or 'labels', not both.");
            if (many.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'labels' must be an array of class numbers, one per row.");
            int i = 0;
            foreach (var element in many.EnumerateArray()) labels.Add(Label(element, $"labels[{i++}]"));
        }
        if (labels.Count == 0) throw ApiException.BadRequest("feedback needs 'label' (the true class) or 'labels' (one per row).");
        // 404 for an unknown model before an unknown request id, so the message names what is really missing.
        experiments.Get(name);
        if (!experiments.Outcomes.Observe(name, requestId, labels))
            throw ApiException.NotFound($"no answer of an experiment on model '{name}' has request id '{requestId}' (unknown, or older than the last {ExperimentOutcomes.Capacity} answers).");
        return ServingApp.Json(new { model = name, request_id = requestId, recorded = labels.Count });
    }

    private static readonly JsonSerializerOptions AsWritten = new() { PropertyNamingPolicy = null };

    private static long Label(JsonElement element, string field) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long value) ? value
            : throw ApiException.BadRequest($"'{field}' must be an integer class number, not {element.GetRawText()}.");
}
