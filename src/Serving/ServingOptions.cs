using System.Globalization;

namespace AllReduceNet.Serving;

/// <summary>The server's settings, read from configuration (command line: <c>--models</c>, <c>--max-body-bytes</c>,
/// <c>--max-batch</c>, <c>--max-queue-delay-us</c>, <c>--max-queue</c>, <c>--version-policy</c>, <c>--api-key</c>).</summary>
/// <param name="ModelsDirectory">The model repository: DIR/NAME/VERSION/model.ckpt.</param>
/// <param name="MaxBodyBytes">Largest request body accepted; larger ones get 413.</param>
/// <param name="MaxBatch">Most rows in one batched forward pass; 1 turns batching off.</param>
/// <param name="MaxQueueDelayMicroseconds">How long a batch waits for more requests after its first one was queued.</param>
/// <param name="MaxQueue">Most requests waiting per model version; more get 503 with Retry-After.</param>
public sealed record ServingOptions(string ModelsDirectory, long MaxBodyBytes, int MaxBatch = ServingOptions.DefaultMaxBatch,
    long MaxQueueDelayMicroseconds = ServingOptions.DefaultMaxQueueDelayMicroseconds, int MaxQueue = ServingOptions.DefaultMaxQueue)
{
    /// <summary>Which versions of each model are served (<c>--version-policy</c>); Triton's default, latest:1.</summary>
    public VersionPolicy VersionPolicy { get; init; } = VersionPolicy.Default;

    /// <summary>The key the repository management endpoints require (<c>--api-key</c>, or the environment variable
    /// <see cref="ApiKeyVariable"/>); null when none is configured, and then those endpoints refuse every request.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The kernel backend of the checkpoint models' forward pass (<c>--device</c>): "auto" (CUDA when a device
    /// is present, else the SIMD CPU path, the default), "cpu", "cuda" or "ilgpu-cpu". ONNX models run on ONNX Runtime's CPU provider.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>The environment variable read for the API key when <c>--api-key</c> is not given.</summary>
    public const string ApiKeyVariable = "ALLREDUCENET_SERVING_API_KEY";

    /// <summary>The options without the API key's value, so that logging them cannot leak it.</summary>
    /// <returns>A description of the options.</returns>
    public override string ToString() =>
        $"ServingOptions {{ ModelsDirectory = {ModelsDirectory}, MaxBodyBytes = {MaxBodyBytes}, MaxBatch = {MaxBatch}, " +
        $"MaxQueueDelayMicroseconds = {MaxQueueDelayMicroseconds}, MaxQueue = {MaxQueue}, VersionPolicy = {VersionPolicy}, Device = {Device}, " +
        $"ApiKey = {(ApiKey is null ? "(none)" : "(set)")} }}";

    /// <summary>The default body limit, 16 MiB: about 2,000 images of 784 floats as JSON text.</summary>
    public const long DefaultMaxBodyBytes = 16L << 20;

    /// <summary>The default of <c>--max-batch</c>, in rows.</summary>
    public const int DefaultMaxBatch = 64;

    /// <summary>The default of <c>--max-queue-delay-us</c>, in microseconds.</summary>
    public const long DefaultMaxQueueDelayMicroseconds = 500;

    /// <summary>The default of <c>--max-queue</c>, in requests per model version.</summary>
    public const int DefaultMaxQueue = 1024;

    /// <summary>The address served when <c>--urls</c> is not given: loopback only, so nothing is exposed by accident.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8000";

    /// <summary>Reads the options from configuration.</summary>
    /// <param name="configuration">The application's configuration.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ServingConfigurationException">--models is missing, or a number option is not a positive integer.</exception>
    public static ServingOptions From(IConfiguration configuration)
    {
        string? models = configuration["models"];
        if (string.IsNullOrWhiteSpace(models))
            throw new ServingConfigurationException("--models DIR is required (a directory holding NAME/VERSION/model.ckpt).");
        return new ServingOptions(models,
            Positive(configuration, "max-body-bytes", DefaultMaxBodyBytes, long.MaxValue),
            (int)Positive(configuration, "max-batch", DefaultMaxBatch, int.MaxValue),
            Positive(configuration, "max-queue-delay-us", DefaultMaxQueueDelayMicroseconds, 3_600_000_000, allowZero: true),
            (int)Positive(configuration, "max-queue", DefaultMaxQueue, int.MaxValue))
        {
            VersionPolicy = configuration["version-policy"] is { } policy ? VersionPolicy.Parse(policy) : VersionPolicy.Default,
            // The host's configuration includes the environment, whose variable keeps the key out of the process list.
            ApiKey = NonEmpty(configuration["api-key"]) ?? NonEmpty(configuration[ApiKeyVariable]),
            Device = ParseDevice(configuration["device"]),
        };
    }

    private static string ParseDevice(string? text)
    {
        if (text is null) return "auto";
        string name = text.Trim().ToLowerInvariant();
        if (!AllReduceNet.Kernels.KernelBackends.Names.Contains(name))
            throw new ServingConfigurationException($"--device is '{text}', but must be one of: {string.Join(", ", AllReduceNet.Kernels.KernelBackends.Names)}.");
        if (name == "cuda" && !AllReduceNet.Kernels.KernelBackends.IsCudaAvailable())
            throw new ServingConfigurationException("--device is 'cuda', but no CUDA device was found (or its driver could not be loaded); use auto or cpu.");
        return name;
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static long Positive(IConfiguration configuration, string name, long fallback, long max, bool allowZero = false)
    {
        string? text = configuration[name];
        if (text is null) return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value > max || (value == 0 && !allowZero))
            throw new ServingConfigurationException(
                $"--{name} is '{text}', but must be a {(allowZero ? "non-negative" : "positive")} integer of at most {max}.");
        return value;
    }
}
