namespace AllReduceNet.Lifecycle.Monitor;

/// <summary>The monitor service's settings (docs/lifecycle.md, section Monitor), validated at start.</summary>
internal sealed record MonitorOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8200";

    public required Uri Server { get; init; }
    public required Uri Trainer { get; init; }
    public required string Model { get; init; }
    /// <summary>How often GET /drift is polled.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Hysteresis: a version must report this many drifted windows in a row.</summary>
    public int ConsecutiveWindows { get; init; } = 3;
    /// <summary>Also drift when a version's accuracy over its latest labeled rows is below this; null: not used.</summary>
    public double? MinAccuracy { get; init; }
    /// <summary>Labeled rows needed before <see cref="MinAccuracy"/> is judged.</summary>
    public int MinLabels { get; init; } = 100;
    /// <summary>After an accepted retrain request, no other for this long.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The key of the trainer's POST /retrain.</summary>
    public string? TrainerApiKey { get; init; }

    /// <exception cref="LifecycleConfigurationException">An option is unusable (negative, NaN, out of range); the message names it.</exception>
    public static MonitorOptions From(IConfiguration configuration)
    {
        var read = new OptionReader(configuration);
        return new MonitorOptions
        {
            Server = read.Url("server", "http://127.0.0.1:8000"),
            Trainer = read.Url("trainer", AllReduceNet.Lifecycle.Trainer.TrainerOptions.DefaultUrls),
            Model = read.Optional("model") ?? "fashion",
            Interval = read.Duration("interval") ?? TimeSpan.FromSeconds(10),
            ConsecutiveWindows = read.Integer("consecutive-windows", 3, 1, 100),
            MinAccuracy = read.Number("min-accuracy", 0, 1, minExclusive: true),
            MinLabels = read.Integer("min-labels", 100, 1, 10_000_000),
            Cooldown = read.Duration("cooldown", allowZero: true) ?? TimeSpan.FromMinutes(30),
            RequestTimeout = read.Duration("request-timeout") ?? TimeSpan.FromSeconds(10),
            TrainerApiKey = read.Optional("trainer-api-key") ?? read.Optional(AllReduceNet.Lifecycle.Trainer.TrainerOptions.ApiKeyVariable),
        };
    }
}
