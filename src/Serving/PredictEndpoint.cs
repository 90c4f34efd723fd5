using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary><c>POST /predict</c>: <c>{"instances": [[...], ...]}</c> in, <c>{"predictions": [{"class", "probabilities"}]}</c> out,
/// on the default version of the default model or of <c>?model=NAME</c>.</summary>
internal static class PredictEndpoint
{
    public static void Map(WebApplication app) => app.MapPost("/predict", (Delegate)Predict);

    private static async Task<IResult> Predict(HttpContext context)
    {
        var models = context.RequestServices.GetRequiredService<ModelRepository>();
        var options = context.RequestServices.GetRequiredService<ServingOptions>();
        string? name = context.Request.Query["model"];
        name = string.IsNullOrEmpty(name) ? models.DefaultName : name;
        string? version = ExperimentRouting.VersionFor(context, name, null);
        RequestMetrics.Track(context, models.Get(name, version));
        using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("instances", out var instances) || instances.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("the request must be {\"instances\": [[...], ...]}.");
        int rows = instances.GetArrayLength();
        if (rows == 0) throw ApiException.BadRequest("'instances' is empty; send at least one instance.");
        float[] input = [];
        var (model, probabilities, classes) = await models.InferAsync(name, version, served =>
        {
            input = new float[(long)rows * served.InputSize];
            int r = 0;
            foreach (var instance in instances.EnumerateArray())
            {
                TensorReader.ReadFloats(instance, served.InputSize, $"instance {r}").CopyTo(input, (long)r * served.InputSize);
                r++;
            }
            return (input, rows);
        });
        ExperimentRouting.Answered(context, model, input, rows, classes);
        Drift.DriftMonitors.Record(context, model, null, input, rows, classes);
        var predictions = new object[rows];
        for (int i = 0; i < rows; i++)
            predictions[i] = new { @class = classes[i], probabilities = probabilities.AsSpan(i * model.Classes, model.Classes).ToArray() };
        return ServingApp.Json(new { predictions });
    }
}
