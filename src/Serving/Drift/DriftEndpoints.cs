using System.Text.Json;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// <c>GET /drift</c> (every served version, or <c>?model=NAME</c>), <c>GET /v2/models/{name}[/versions/{version}]/drift</c>,
/// and <c>POST /v2/models/{name}[/versions/{version}]/feedback</c> with <c>{"id": REQUEST_ID, "label": L}</c> (or
/// <c>"labels": [...]</c>, one per row of a batched request). docs/drift.md describes the answers.
/// </summary>
internal static class DriftEndpoints
{
    /// <summary>Registers the services the endpoints and the recording need.</summary>
    /// <exception cref="ServingConfigurationException">A --drift-* option is unusable.</exception>
    public static void AddServices(WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(DriftOptions.From(builder.Configuration));
        builder.Services.AddSingleton<DriftMetrics>();
        builder.Services.AddSingleton<DriftMonitors>();
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/drift", (HttpContext context, ModelRepository models, DriftMonitors monitors) =>
        {
            string? name = context.Request.Query["model"];
            var served = string.IsNullOrEmpty(name) ? models.All : models.Versions(name);
            return ServingApp.Json(new { models = served.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => monitors.For(m).Describe()).ToArray() });
        });
        app.MapGet("/v2/models/{name}/drift", (string name, ModelRepository models, DriftMonitors monitors) => ServingApp.Json(monitors.For(models.Get(name, null)).Describe()));
        app.MapGet("/v2/models/{name}/versions/{version}/drift", (string name, string version, ModelRepository models, DriftMonitors monitors) =>
            ServingApp.Json(monitors.For(models.Get(name, version)).Describe()));
        app.MapPost("/v2/models/{name}/feedback", (string name, HttpContext context) => Feedback(context, name, null));
        app.MapPost("/v2/models/{name}/versions/{version}/feedback", (string name, string version, HttpContext context) => Feedback(context, name, version));
    }

    private static async Task<IResult> Feedback(HttpContext context, string name, string? version)
    {
        var models = context.RequestServices.GetRequiredService<ModelRepository>();
        var monitors = context.RequestServices.GetRequiredService<DriftMonitors>();
        var options = context.RequestServices.GetRequiredService<ServingOptions>();
        var candidates = version is null ? models.Versions(name) : [models.Get(name, version)];
        using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("feedback must be a JSON object {\"id\": REQUEST_ID, \"label\": CLASS}.");
        if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(idElement.GetString()))
            throw ApiException.BadRequest("feedback needs 'id', the answered request's X-Request-Id (or its Open Inference Protocol id), as a non-empty string.");
        string id = idElement.GetString()!;
        int[] labels;
        bool hasLabel = root.TryGetProperty("label", out var label), hasLabels = root.TryGetProperty("labels", out var many);
        if (hasLabel == hasLabels) throw ApiException.BadRequest("feedback needs exactly one of 'label' (an integer class) or 'labels' (one integer class per row of the request).");
        if (hasLabel) labels = [Label(label, "'label'")];
        else if (many.ValueKind != JsonValueKind.Array || many.GetArrayLength() == 0) throw ApiException.BadRequest("'labels' must be a non-empty array of integer classes.");
        else labels = many.EnumerateArray().Select((l, i) => Label(l, $"'labels[{i}]'")).ToArray();
        // The same label also feeds every other observer (the running A/B experiment's per-variant accuracy), keyed by
        // the X-Request-Id; a request the drift store has forgotten may still be one an experiment remembers.
        var observers = context.RequestServices.GetServices<IFeedbackObserver>();
        var observed = Array.ConvertAll(labels, l => (long)l);
        var model = candidates.FirstOrDefault(m => monitors.For(m).Knows(id));
        if (model is null && observers.Aggregate(false, (seen, o) => o.Observe(name, id, observed) | seen))
            return ServingApp.Json(new { id, model_name = name, labels });
        if (model is null) throw ApiException.NotFound($"model '{name}'{(version is null ? "" : $" version {version}")} has no recorded request with id '{id}' " +
                $"(the latest {monitors.Options.StoreRows} rows per version are kept, --drift-store-rows); send the X-Request-Id of an answered infer or /predict request, or its 'id'.");
        var predicted = monitors.For(model).Feedback(id, labels);
        foreach (var observer in observers) observer.Observe(name, id, observed);
        return ServingApp.Json(new { id, model_name = model.Name, model_version = model.Version, labels, predicted, correct = labels.Where((l, i) => l == predicted[i]).Count() });
    }

    private static int Label(JsonElement element, string what) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int value)
            ? value
            : throw ApiException.BadRequest($"{what} must be an integer class, not {TensorReader.Describe(element)}.");
}
