namespace AllReduceNet.Serving;

/// <summary>The server's settings, read from configuration (command line: <c>--models</c>, <c>--max-body-bytes</c>).</summary>
/// <param name="ModelsDirectory">The model repository: DIR/NAME/VERSION/model.ckpt.</param>
/// <param name="MaxBodyBytes">Largest request body accepted; larger ones get 413.</param>
public sealed record ServingOptions(string ModelsDirectory, long MaxBodyBytes)
{
    /// <summary>The default body limit, 16 MiB: about 2,000 images of 784 floats as JSON text.</summary>
    public const long DefaultMaxBodyBytes = 16L << 20;

    /// <summary>The address served when <c>--urls</c> is not given: loopback only, so nothing is exposed by accident.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8000";

    /// <summary>Reads the options from configuration.</summary>
    /// <param name="configuration">The application's configuration.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ServingConfigurationException">--models is missing, or --max-body-bytes is not a positive integer.</exception>
    public static ServingOptions From(IConfiguration configuration)
    {
        string? models = configuration["models"];
        if (string.IsNullOrWhiteSpace(models))
            throw new ServingConfigurationException("--models DIR is required (a directory holding NAME/VERSION/model.ckpt).");
        long maxBody = DefaultMaxBodyBytes;
        string? text = configuration["max-body-bytes"];
        if (text is not null && (!long.TryParse(text, out maxBody) || maxBody <= 0))
            throw new ServingConfigurationException($"--max-body-bytes is '{text}', but must be a positive integer.");
        return new ServingOptions(models, maxBody);
    }
}
