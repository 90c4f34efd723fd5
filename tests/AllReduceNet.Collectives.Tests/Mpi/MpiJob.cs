using System.Diagnostics;
using System.Text;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// Launches AllReduceNet.MpiTestApp under an mpiexec (or alone) with a hard timeout: past it the whole process tree
/// (mpiexec, its proxies, every rank) is killed, so no test can hang the suite.
/// </summary>
internal static class MpiJob
{
    public const string Mpich = "mpiexec.mpich";
    public const string OpenMpi = "mpiexec.openmpi";

    /// <summary>What a finished (or killed) job left.</summary>
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut)
    {
        public override string ToString() =>
            $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s{(TimedOut ? " (KILLED at the timeout)" : "")}; output:\n{Output}";
    }

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>The test app, built next to this test assembly's configuration by the ProjectReference.</summary>
    public static string AppPath
    {
        get
        {
            var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string tfm = bin.Name, configuration = bin.Parent!.Name;
            var root = bin;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "AllReduceNet.sln"))) root = root.Parent;
            if (root is null) throw new InvalidOperationException($"no AllReduceNet.sln above {AppContext.BaseDirectory}");
            var app = Path.Combine(root.FullName, "tests", "AllReduceNet.MpiTestApp", "bin", configuration, tfm, "AllReduceNet.MpiTestApp.dll");
            if (!File.Exists(app)) throw new FileNotFoundException($"the MPI test app was not built: {app}", app);
            return app;
        }
    }

    /// <summary>Runs <c>launcher -n ranks dotnet app args</c> (Open MPI: with --oversubscribe and root allowed).</summary>
    public static Result Launch(string launcher, int ranks, string appArgs, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var path = Find(launcher) ?? throw new InvalidOperationException($"{launcher} is not on PATH");
        var args = launcher == OpenMpi ? $"--oversubscribe -n {ranks}" : $"-n {ranks}";
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>());
        if (launcher == OpenMpi)
        {
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        }
        return Run(path, $"{args} dotnet {AppPath} {appArgs}", timeout, env);
    }

    /// <summary>Runs <c>launcher LAUNCHER-ARGS dotnet app APP-ARGS</c>: a launcher command line of the caller's (e.g. across the namespace cluster).</summary>
    public static Result LaunchWith(string launcher, string launcherArgs, string appArgs, TimeSpan timeout, IReadOnlyDictionary<string, string> environment)
    {
        var path = Find(launcher) ?? throw new InvalidOperationException($"{launcher} is not on PATH");
        return Run(path, $"{launcherArgs} dotnet {AppPath} {appArgs}", timeout, environment);
    }

    /// <summary>Runs <c>launcher LAUNCHER-ARGS PROGRAM-AND-ARGS</c>: another program than the test app (e.g. Train.dll) on the caller's launcher command line.</summary>
    public static Result LaunchProgram(string launcher, string launcherArgs, string programAndArgs, TimeSpan timeout, IReadOnlyDictionary<string, string> environment)
    {
        var path = Find(launcher) ?? throw new InvalidOperationException($"{launcher} is not on PATH");
        return Run(path, $"{launcherArgs} {programAndArgs}", timeout, environment);
    }

    /// <summary>
    /// Runs two MPICH ranks whose environments differ (hydra's MPMD form, <c>-n 1 -env K V ... : -n 1 ...</c>): rank 0
    /// gets <paramref name="rankZeroEnvironment"/> on top of the common environment.
    /// </summary>
    public static Result LaunchTwoMpichRanksWithDifferentEnvironments(string appArgs, TimeSpan timeout, IReadOnlyDictionary<string, string> rankZeroEnvironment)
    {
        var path = Find(Mpich) ?? throw new InvalidOperationException($"{Mpich} is not on PATH");
        var rankZero = string.Join(" ", rankZeroEnvironment.Select(kv => $"-env {kv.Key} {kv.Value}"));
        return Run(path, $"-n 1 {rankZero} dotnet {AppPath} {appArgs} : -n 1 dotnet {AppPath} {appArgs}", timeout, new Dictionary<string, string>());
    }

    /// <summary>Runs the app alone (no mpiexec), as a plain <c>dotnet app.dll args</c>.</summary>
    public static Result RunAlone(string appArgs, TimeSpan timeout, IReadOnlyDictionary<string, string> environment) =>
        Run("dotnet", $"{AppPath} {appArgs}", timeout, environment);

    private static Result Run(string file, string arguments, TimeSpan timeout, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test host's own MPI-launcher variables (if the suite itself runs under mpiexec) must not leak in.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("PMI_") || k.StartsWith("OMPI_") || k.StartsWith("PMIX_")).ToList())
            info.Environment.Remove(key);
        info.Environment["ALLREDUCENET_TIMEOUT_SECONDS"] = "30";
        foreach (var (key, value) in environment) info.Environment[key] = value;

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool timedOut = !process.WaitForExit(timeout);
        bool exited = !timedOut;
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
            exited = process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        // Drains the redirected output, only once the process is known to have exited: the untimed wait never returns
        // for a child that is not reaped (seen once in CI, when the test host's heap was corrupt).
        if (exited) process.WaitForExit();
        lock (output)
            return new Result(timedOut ? -1 : process.ExitCode, output.ToString(), clock.Elapsed, timedOut);
    }
}
