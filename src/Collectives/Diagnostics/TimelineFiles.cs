using System.Diagnostics;
using System.Text.Json;

namespace AllReduceNet.Collectives.Diagnostics;

/// <summary>
/// Writes the timeline: a JSON object {"traceEvents": [...]} in the Chrome trace event format, with "ts" and "dur"
/// in microseconds. Timestamps are microseconds since the Unix epoch on each host's clock (so ranks on one host line
/// up exactly, and hosts as well as their clocks agree); the merged file starts at 0.
/// </summary>
internal static class TimelineFiles
{
    private static readonly long BaseTicks = Stopwatch.GetTimestamp();
    private static readonly long BaseUnixMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private static int _written;

    /// <summary>How long rank 0 waits for another rank's part to appear (a shared file system may show it late).</summary>
    private static readonly TimeSpan PartWait = TimeSpan.FromSeconds(10);

    public static string PartPath(string file, int rank) => $"{file}.rank{rank}";

    private static double Micros(long ticks) => BaseUnixMicros + (ticks - BaseTicks) * 1e6 / Stopwatch.Frequency;

    /// <summary>
    /// Under MPI, at finalize (collective over <paramref name="world"/>): every rank writes its part, then rank 0
    /// merges the parts into the timeline file and deletes them.
    /// </summary>
    public static void WriteMpi(Communicator world)
    {
        string file = Timeline.FilePath!;
        if (Interlocked.Exchange(ref _written, 1) != 0) return;
        string part = PartPath(file, world.Rank);
        try
        {
            WriteEvents(part, TimelineRecorder.Snapshot(), rebase: false);
            world.Barrier();
            if (world.Rank != 0) return;
            Merge(Enumerable.Range(0, world.Size).Select(r => PartPath(file, r)).ToArray(), file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            // A timeline that cannot be written must not fail the job it describes.
            Console.Error.WriteLine($"[allreducenet] rank {world.Rank}: could not write the timeline {file}: {e.Message}");
        }
    }

    /// <summary>At process exit: in-process, the whole job's file; under MPI without finalize (a failed job), this rank's part.</summary>
    public static void WriteAtExit()
    {
        if (Interlocked.Exchange(ref _written, 1) != 0) return;
        string file = Timeline.FilePath!;
        try
        {
            if (Timeline.ProcessRank is int rank) WriteEvents(PartPath(file, rank), TimelineRecorder.Snapshot(), rebase: false);
            else WriteEvents(file, TimelineRecorder.Snapshot(), rebase: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"[allreducenet] could not write the timeline {file}: {e.Message}");
        }
    }

    /// <summary>Merges part files (as written by <see cref="WriteMpi"/>) into <paramref name="file"/>, rebased to start at 0.</summary>
    public static void Merge(IReadOnlyList<string> parts, string file)
    {
        var events = new List<JsonElement>();
        var documents = new List<JsonDocument>();
        var merged = new List<string>();
        foreach (string part in parts)
        {
            var waited = Stopwatch.StartNew();
            while (!File.Exists(part) && waited.Elapsed < PartWait) Thread.Sleep(50);
            if (!File.Exists(part))
            {
                Console.Error.WriteLine($"[allreducenet] timeline: {part} did not appear within {PartWait.TotalSeconds:F0} s (is {Path.GetDirectoryName(file)} shared between the nodes?); merging without it.");
                continue;
            }
            var document = JsonDocument.Parse(File.ReadAllBytes(part));
            documents.Add(document);
            events.AddRange(document.RootElement.GetProperty("traceEvents").EnumerateArray());
            merged.Add(part);
        }
        double origin = events.Where(e => e.GetProperty("ph").GetString() == "X").Select(e => e.GetProperty("ts").GetDouble()).DefaultIfEmpty(0).Min();
        using (var stream = File.Create(file))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("traceEvents");
            foreach (var e in events)
            {
                json.WriteStartObject();
                foreach (var property in e.EnumerateObject())
                {
                    if (property.NameEquals("ts")) json.WriteNumber("ts", Math.Round(property.Value.GetDouble() - origin, 3));
                    else property.WriteTo(json);
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("displayTimeUnit", "ms");
            json.WriteEndObject();
        }
        foreach (var document in documents) document.Dispose();
        foreach (string part in merged) File.Delete(part);
    }

    /// <summary>Writes one file of events; <paramref name="rebase"/> shifts them to start at 0 (a whole job's file).</summary>
    public static void WriteEvents(string file, List<TimelineEvent> events, bool rebase)
    {
        string? directory = Path.GetDirectoryName(file);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        double origin = rebase && events.Count > 0 ? events.Min(e => Micros(e.StartTicks)) : 0;
        using var stream = File.Create(file);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteStartArray("traceEvents");
        foreach (int pid in events.Select(e => e.Pid).Distinct().Order())
        {
            // Metadata: the viewer shows "rank N" and sorts the ranks in order.
            json.WriteStartObject();
            json.WriteString("name", "process_name");
            json.WriteString("ph", "M");
            json.WriteNumber("pid", pid);
            json.WriteStartObject("args");
            json.WriteString("name", $"rank {pid}");
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("name", "process_sort_index");
            json.WriteString("ph", "M");
            json.WriteNumber("pid", pid);
            json.WriteStartObject("args");
            json.WriteNumber("sort_index", pid);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        foreach (var e in events)
        {
            json.WriteStartObject();
            json.WriteString("name", e.Name);
            json.WriteString("cat", e.Category);
            json.WriteString("ph", "X");
            json.WriteNumber("pid", e.Pid);
            json.WriteNumber("tid", e.Tid);
            json.WriteNumber("ts", Math.Round(Micros(e.StartTicks) - origin, 3));
            json.WriteNumber("dur", Math.Round((e.EndTicks - e.StartTicks) * 1e6 / Stopwatch.Frequency, 3));
            if (e.Args is not null || e.Bytes > 0)
            {
                json.WriteStartObject("args");
                if (e.Args is not null)
                    using (var args = JsonDocument.Parse("{" + e.Args + "}"))
                        foreach (var property in args.RootElement.EnumerateObject()) property.WriteTo(json);
                if (e.Bytes > 0) json.WriteNumber("bytes", e.Bytes);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        if (TimelineRecorder.Dropped > 0)
        {
            json.WriteStartObject();
            json.WriteString("name", $"timeline full: {TimelineRecorder.Dropped} later events were not kept (cap {TimelineRecorder.MaxEventsPerProcess} per process)");
            json.WriteString("ph", "i");
            json.WriteString("s", "g");
            json.WriteNumber("pid", events.Count > 0 ? events[0].Pid : 0);
            json.WriteNumber("ts", events.Count > 0 ? Math.Round(Micros(events[^1].EndTicks) - origin, 3) : 0);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("displayTimeUnit", "ms");
        json.WriteEndObject();
    }
}
