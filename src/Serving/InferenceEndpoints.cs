namespace AllReduceNet.Serving;

/// <summary>The Open Inference Protocol v2 (KServe) endpoints: health, model metadata, model readiness, infer.</summary>
internal static class InferenceEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/v2", () => ServingApp.Json(new { name = "allreducenet-serve", version = typeof(InferenceEndpoints).Assembly.GetName().Version?.ToString(3), extensions = new[] { BinaryTensorData.ExtensionName } }));
        app.MapGet("/v2/health/live", () => ServingApp.Json(new { live = true }));
        // Every model is loaded before the server listens, so a live server is a ready one.
        app.MapGet("/v2/health/ready", () => ServingApp.Json(new { ready = true }));

        app.MapGet("/v2/models/{name}", (string name, ModelRepository models) => Metadata(models, name, null));
        app.MapGet("/v2/models/{name}/versions/{version}", (string name, string version, ModelRepository models) => Metadata(models, name, version));
        app.MapGet("/v2/models/{name}/ready", (string name, ModelRepository models) => Ready(models, name, null));
        app.MapGet("/v2/models/{name}/versions/{version}/ready", (string name, string version, ModelRepository models) => Ready(models, name, version));
        app.MapPost("/v2/models/{name}/infer", (string name, HttpContext context) => Infer(context, name, null));
        app.MapPost("/v2/models/{name}/versions/{version}/infer", (string name, string version, HttpContext context) => Infer(context, name, version));
    }

    private static IResult Metadata(ModelRepository models, string name, string? version)
    {
        var model = models.Get(name, version);
        // Applied by the server to every input value: x' = (x * scale - mean) / deviation.
        var preprocess = new { scale = model.Preprocess.Scale, mean = model.Preprocess.Mean, deviation = model.Preprocess.Deviation, per_sample = model.Preprocess.PerSample };
        return ServingApp.Json(new
        {
            name,
            versions = models.Versions(name).Select(m => m.Version).ToArray(),
            platform = model.Platform,
            inputs = new[] { Tensor(model.Input) },
            // What infer answers, whatever the kind of model: an ONNX model's own outputs are in parameters.
            outputs = new[]
            {
                Tensor(new ModelTensor("probabilities", "FP32", [-1, model.Classes])),
                Tensor(new ModelTensor("class", "INT64", [-1])),
            },
            parameters = model switch
            {
                OnnxModel onnx => (object)new { preprocess, producer = onnx.Producer, model_outputs = onnx.ModelOutputs.Select(Tensor).ToArray(), scores_output = onnx.ModelOutputs[0].Name },
                CheckpointModel checkpoint => new { preprocess, device = checkpoint.Device },
                _ => new { preprocess },
            },
        });
    }

    private static object Tensor(ModelTensor tensor) => new { name = tensor.Name, datatype = tensor.Datatype, shape = tensor.Shape };

    private static IResult Ready(ModelRepository models, string name, string? version)
    {
        var model = models.Get(name, version);
        return ServingApp.Json(new { name, version = model.Version, ready = true });
    }

    private static async Task<IResult> Infer(HttpContext context, string name, string? version)
    {
        var models = context.RequestServices.GetRequiredService<ModelRepository>();
        var options = context.RequestServices.GetRequiredService<ServingOptions>();
        // A running experiment (or a decision's pin) picks the version of a request for the default one.
        version = ExperimentRouting.VersionFor(context, name, version);
        // The model is resolved first, so an unknown one is a 404 whatever the body holds.
        RequestMetrics.Track(context, models.Get(name, version));
        var (body, binary) = await BinaryTensorData.ReadRequestAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        using var json = body;
        InferRequest request = null!;
        var (model, probabilities, classes) = await models.InferAsync(name, version, served =>
        {
            request = InferRequest.Parse(json.RootElement, served, binary);
            return (request.Input, request.Rows);
        });
        ExperimentRouting.Answered(context, model, request.Input, request.Rows, classes);
        Drift.DriftMonitors.Record(context, model, request.Id, request.Input, request.Rows, classes);
        var outputs = new List<object>();
        var binaryData = new List<byte[]>();
        foreach (string output in request.Outputs)
        {
            var (datatype, shape, data) = output == "class"
                ? ("INT64", new long[] { request.Rows }, (Array)classes)
                : ("FP32", new long[] { request.Rows, model.Classes }, probabilities);
            if (request.BinaryOutputs.Contains(output))
            {
                byte[] bytes = data is long[] longs ? BinaryTensorData.Bytes(longs) : BinaryTensorData.Bytes((float[])data);
                binaryData.Add(bytes);
                outputs.Add(new { name = output, datatype, shape, parameters = new Dictionary<string, long> { [BinaryTensorData.SizeParameter] = bytes.Length } });
            }
            else outputs.Add(new { name = output, datatype, shape, data = (object)data });
        }
        if (binaryData.Count > 0)
            return BinaryTensorData.Response(context, new { model_name = model.Name, model_version = model.Version, id = request.Id, outputs }, binaryData);
        return ServingApp.Json(new { model_name = model.Name, model_version = model.Version, id = request.Id, outputs });
    }
}
