using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>
/// The steps of one retrain job: find the version serving now (the control) and the next version number; export the
/// labeled feedback from the server to a data file; run Train.dll on the reference data plus that file (warm-started
/// from the control), exporting NAME/V+1 into the job's own directory; move it into the model repository; have the
/// server load it; start the A/B experiment control against it. Until the move the repository is untouched, and a
/// failure after it removes the version again, so a failed job leaves the repository as it found it.
/// </summary>
internal sealed class RetrainRun(TrainerOptions options, RetrainJob job, ILogger logger)
{
    private const int TailLines = 20;

    public async Task RunAsync(CancellationToken cancel)
    {
        string directory = Path.GetDirectoryName(job.Log)!;
        Directory.CreateDirectory(directory);
        string repository = Path.Combine(options.Models, options.Model);
        using var server = new ServingClient(options);

        job.Step("choosing versions");
        var versions = Versions(repository);
        if (versions.Count == 0)
            throw new RetrainFailure($"the model repository has no version of '{options.Model}' ({repository}/VERSION); train and export the first one with Train.dll --export-model.");
        var experiment = await server.ExperimentAsync(cancel);
        long control = experiment?.Served is { } pinned && long.TryParse(pinned, CultureInfo.InvariantCulture, out long p) ? p : versions.Max();
        long next = versions.Max() + 1;
        job.Control(control.ToString(CultureInfo.InvariantCulture));

        job.Step("exporting feedback");
        string feedback = Path.Combine(directory, "feedback.bin");
        int rows = await server.ExportFeedbackAsync(feedback, cancel);
        job.FeedbackRows(rows);
        if (rows < options.MinFeedbackRows)
            throw new RetrainFailure($"the server holds {rows} labeled feedback rows for '{options.Model}', fewer than --min-feedback-rows {options.MinFeedbackRows}.");

        job.Step("training");
        string staged = Path.Combine(directory, "export", options.Model, next.ToString(CultureInfo.InvariantCulture));
        var args = new List<string>(options.TrainArgs) { "--export-model", staged };
        if (!options.TrainArgs.Contains("--checkpoint") && !options.TrainArgs.Contains("--no-checkpoint"))
            args.AddRange(["--checkpoint", Path.Combine(directory, "train.ckpt")]);
        if (!options.Launcher.AddsLogJson && !options.TrainArgs.Contains("--log-json")) args.AddRange(["--log-json", Path.Combine(directory, "train.jsonl")]);
        if (rows > 0) args.AddRange(["--extra-data", feedback, "--extra-weight", options.ExtraWeight.ToString(CultureInfo.InvariantCulture)]);
        string? normalize = options.TrainArgs.Contains("--normalize") ? null : options.Normalize;
        if (normalize is not null) args.AddRange(["--normalize", normalize]);
        string controlDirectory = Path.Combine(repository, control.ToString(CultureInfo.InvariantCulture));
        string controlCheckpoint = Path.Combine(controlDirectory, "model.ckpt");
        if (options.WarmStart && File.Exists(controlCheckpoint))
        {
            // The control's parameters only help when its inputs were prepared the same way; a per-sample model is
            // never a good start for a globally standardized one, nor the other way round.
            if (SameInputPreparation(controlDirectory, normalize)) args.AddRange(["--init-from", controlCheckpoint]);
            else logger.LogInformation("Job {Id}: v{Control} was trained with another input normalization than --normalize {Normalize}; v{Next} trains from scratch.", job.Id, control, normalize, next);
        }
        int exit = await TrainAsync(args, directory, cancel);
        if (exit != 0)
            throw new RetrainFailure($"Train.dll ({options.Launcher}) exited with code {exit}{LastError(job.Log)}; its output is in {job.Log}.");
        foreach (string file in (string[])["model.ckpt", "preprocess.json", "reference.json"])
            if (!File.Exists(Path.Combine(staged, file)))
                throw new RetrainFailure($"Train.dll finished, but {Path.Combine(staged, file)} is missing; the new version is incomplete.");
        job.Produced(next.ToString(CultureInfo.InvariantCulture), ValidationAccuracy(Path.Combine(staged, "reference.json")));

        job.Step("registering");
        string target = Path.Combine(repository, next.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(target))
            throw new RetrainFailure($"version directory {target} appeared while the job ran; the repository is left as it is.");
        MoveDirectory(staged, target);
        try
        {
            await server.LoadAsync(cancel);
            if (options.StartExperiment)
            {
                job.Step("starting the experiment");
                await server.StartExperimentAsync(control.ToString(CultureInfo.InvariantCulture), next.ToString(CultureInfo.InvariantCulture), CancellationToken.None);
                job.ExperimentStarted();
            }
        }
        catch (Exception e)
        {
            // Take the version out again, so that the server serves what it served before the job.
            Directory.Delete(target, recursive: true);
            try { await server.LoadAsync(CancellationToken.None); }
            catch (RetrainFailure reload) { logger.LogWarning("reloading '{Model}' after a failed registration failed too: {Error}", options.Model, reload.Message); }
            throw e is RetrainFailure ? e : new RetrainFailure($"registering version {next} failed: {e.Message}");
        }
    }

    /// <summary>The last lines of a log file, or null when it is empty or unreadable.</summary>
    public static string? Tail(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            var lines = File.ReadAllLines(path);
            return lines.Length == 0 ? null : string.Join('\n', lines[Math.Max(0, lines.Length - TailLines)..]);
        }
        catch (IOException) { return null; }
    }

    /// <summary>Whether the control's preprocess.json is per sample exactly when the new version will be; true when unknown.</summary>
    private static bool SameInputPreparation(string controlDirectory, string? normalize)
    {
        string path = Path.Combine(controlDirectory, AllReduceNet.Training.Checkpoints.Preprocessing.FileName);
        if (normalize is null || !File.Exists(path)) return true;
        try { return AllReduceNet.Training.Checkpoints.Preprocessing.Read(path).PerSample == (normalize == "per-sample"); }
        catch (AllReduceNet.Training.Checkpoints.CheckpointException) { return true; }
    }

    private static List<long> Versions(string repository) => !Directory.Exists(repository) ? [] :
        Directory.GetDirectories(repository).Select(Path.GetFileName)
            .Select(n => long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : -1).Where(v => v >= 0).ToList();

    private async Task<int> TrainAsync(List<string> args, string directory, CancellationToken cancel)
    {
        var start = options.Launcher.StartInfo(options.TrainDll, args, directory);
        await using var log = new StreamWriter(job.Log, append: true) { AutoFlush = true };
        await log.WriteLineAsync($"$ {start.FileName} {string.Join(' ', start.ArgumentList)}");
        using var process = new Process { StartInfo = start };
        var gate = new object();
        void Write(string? line) { if (line is not null) lock (gate) log.WriteLine(line); }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RetrainFailure($"could not start {start.FileName} ({options.Launcher}): {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancel);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            throw;
        }
        process.WaitForExit(); // drains the output events
        lock (gate) log.WriteLine($"exit code {process.ExitCode}");
        return process.ExitCode;
    }

    /// <summary>Train.dll's "error: ..." line, when it printed one, for the job's error.</summary>
    private static string LastError(string log)
    {
        try
        {
            var line = File.ReadLines(log).LastOrDefault(l => l.Contains("error:", StringComparison.Ordinal));
            return line is null ? "" : $" ({line.Trim()})";
        }
        catch (IOException) { return ""; }
    }

    private static double? ValidationAccuracy(string referencePath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(referencePath));
            return document.RootElement.TryGetProperty("validation_accuracy", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetDouble() : null;
        }
        catch (JsonException) { return null; }
    }

    private static void MoveDirectory(string from, string to)
    {
        try
        {
            Directory.Move(from, to);
        }
        catch (IOException)
        {
            // Another file system: copy into a hidden sibling, then rename it into place, so the server never sees half a version.
            string partial = Path.Combine(Path.GetDirectoryName(to)!, $".{Path.GetFileName(to)}.partial");
            Directory.CreateDirectory(partial);
            foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(partial, Path.GetFileName(file)));
            Directory.Move(partial, to);
        }
    }
}
