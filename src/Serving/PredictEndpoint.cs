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
        var model = models.Get(string.IsNullOrEmpty(name) ? models.DefaultName : name, null);
        RequestMetrics.Track(context, model);
        using var body = await JsonBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("instances", out var instances) || instances.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("the request must be {\"instances\": [[...], ...]}.");
        int rows = instances.GetArrayLength();
        if (rows == 0) throw ApiException.BadRequest("'instances' is empty; send at least one instance.");
        var input = new float[(long)rows * model.InputSize];
        int r = 0;
        foreach (var instance in instances.EnumerateArray())
        {
            TensorReader.ReadFloats(instance, model.InputSize, $"instance {r}").CopyTo(input, (long)r * model.InputSize);
            r++;
        }
        var (probabilities, classes) = await context.RequestServices.GetRequiredService<BatchScheduler>().For(model).InferAsync(input, rows);
        var predictions = new object[rows];
        for (int i = 0; i < rows; i++)
            predictions[i] = new { @class = classes[i], probabilities = probabilities.AsSpan(i * model.Classes, model.Classes).ToArray() };
        return ServingApp.Json(new { predictions });
    }
}
