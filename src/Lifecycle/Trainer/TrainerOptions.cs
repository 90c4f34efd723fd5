namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>The trainer service's settings (docs/lifecycle.md, section Trainer), validated at start.</summary>
internal sealed record TrainerOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8100";
    public const string ApiKeyVariable = "ALLREDUCENET_LIFECYCLE_API_KEY";
    public const string ServingApiKeyVariable = "ALLREDUCENET_SERVING_API_KEY";

    /// <summary>Serve.dll's base URL.</summary>
    public required Uri Server { get; init; }
    /// <summary>The model to retrain (a NAME in the repository).</summary>
    public required string Model { get; init; }
    /// <summary>The model repository directory Serve.dll serves (the trainer adds NAME/V+1 to it).</summary>
    public required string Models { get; init; }
    /// <summary>This service's management key; null closes POST /retrain (403).</summary>
    public string? ApiKey { get; init; }
    /// <summary>The key sent to Serve.dll's repository, export and experiment endpoints.</summary>
    public string? ServerApiKey { get; init; }
    public required string TrainDll { get; init; }
    /// <summary>Train.dll's own options (data, epochs, layers, ranks ...), split on spaces.</summary>
    public required string[] TrainArgs { get; init; }
    public required TrainLauncher Launcher { get; init; }
    public int ExtraWeight { get; init; } = 1;
    public int MaxFeedbackRows { get; init; } = 100_000;
    public int MinFeedbackRows { get; init; }
    public bool WarmStart { get; init; } = true;
    /// <summary>Train.dll's --normalize for the new version (per-sample by default: blind to brightness and contrast
    /// shifts, which a global standardization fitted on the clean data is not); null leaves it to --train-args.</summary>
    public string? Normalize { get; init; } = "per-sample";
    public TimeSpan? RetrainEvery { get; init; }
    public TimeSpan JobTimeout { get; init; } = TimeSpan.FromHours(2);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public required string WorkDirectory { get; init; }
    public bool StartExperiment { get; init; } = true;
    public int CandidateWeight { get; init; } = 50;
    public int ExperimentMinSamples { get; init; } = 200;

    /// <exception cref="LifecycleConfigurationException">An option is missing or unusable; the message names it.</exception>
    public static TrainerOptions From(IConfiguration configuration)
    {
        var read = new OptionReader(configuration);
        string models = read.Required("models", "models (the directory Serve.dll serves)");
        if (!Directory.Exists(models)) throw new LifecycleConfigurationException($"--models '{models}' is not a directory; give the model repository Serve.dll serves.");
        string model = read.Optional("model") ?? "fashion";
        if (model.IndexOfAny(['/', '\\']) >= 0 || model is "." or "..")
            throw new LifecycleConfigurationException($"--model '{model}' is not a model name (no slashes).");
        string trainDll = read.Optional("train-dll") ?? Path.Combine(AppContext.BaseDirectory, "Train.dll");
        var launcher = TrainLauncher.Parse(read.Optional("launcher") ?? "inproc", read.Optional("sbatch-script") ?? Path.Combine("scripts", "slurm", "train.sbatch"),
            Split(read.Optional("sbatch-args")));
        if (launcher.Kind != TrainLauncher.LauncherKind.Sbatch && !File.Exists(trainDll))
            throw new LifecycleConfigurationException($"--train-dll '{trainDll}' does not exist; build src/Training (dotnet build src/Training -c Release) or point --train-dll at Train.dll.");
        string? apiKey = read.Optional("api-key") ?? read.Optional(ApiKeyVariable);
        var server = read.Url("server", "http://127.0.0.1:8000");
        return new TrainerOptions
        {
            Server = server,
            Model = model,
            Models = models,
            ApiKey = apiKey,
            ServerApiKey = read.Optional("server-api-key") ?? read.Optional(ServingApiKeyVariable) ?? apiKey,
            TrainDll = trainDll,
            TrainArgs = Split(read.Optional("train-args") ?? "--epochs 3"),
            Launcher = launcher,
            ExtraWeight = read.Integer("extra-weight", 1, 1, 1000),
            MaxFeedbackRows = read.Integer("max-feedback-rows", 100_000, 1, 100_000),
            MinFeedbackRows = read.Integer("min-feedback-rows", 0, 0, 100_000),
            WarmStart = read.Boolean("warm-start", true),
            Normalize = ReadNormalize(read.Optional("normalize") ?? "per-sample"),
            RetrainEvery = read.Duration("retrain-every"),
            JobTimeout = read.Duration("job-timeout") ?? TimeSpan.FromHours(2),
            RequestTimeout = read.Duration("request-timeout") ?? TimeSpan.FromSeconds(60),
            WorkDirectory = Path.GetFullPath(read.Optional("work") ?? "lifecycle-work"),
            StartExperiment = read.Boolean("start-experiment", true),
            CandidateWeight = read.Integer("candidate-weight", 50, 0, 100),
            ExperimentMinSamples = read.Integer("experiment-min-samples", 200, 1, 10_000_000),
        };
    }

    private static string? ReadNormalize(string value) => value.Trim().ToLowerInvariant() switch
    {
        "per-sample" or "standardize" or "scale" => value.Trim().ToLowerInvariant(),
        "train-args" => null,
        _ => throw new LifecycleConfigurationException($"--normalize '{value}' is unknown; use per-sample, standardize, scale or train-args (Train.dll's own default or its --normalize in --train-args)."),
    };

    private static string[] Split(string? text) => text is null ? [] : text.Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
}
