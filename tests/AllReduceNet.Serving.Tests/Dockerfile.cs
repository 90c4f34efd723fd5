using System.Text.Json;

namespace AllReduceNet.Serving.Tests;

/// <summary>A Dockerfile read into instructions, enough to check what it refers to: line continuations joined,
/// comments dropped, each instruction tagged with the stage it belongs to.</summary>
internal sealed class Dockerfile
{
    public sealed record Instruction(string Keyword, string Arguments, string? Stage, int StageIndex);

    public IReadOnlyList<Instruction> Instructions { get; }

    public string Path { get; }

    private Dockerfile(string path, IReadOnlyList<Instruction> instructions) => (Path, Instructions) = (path, instructions);

    public static Dockerfile Read(string path)
    {
        var instructions = new List<Instruction>();
        string? stage = null;
        int stageIndex = -1;
        string pending = "";
        foreach (string raw in File.ReadAllLines(path))
        {
            string line = raw.Trim();
            if (pending.Length == 0 && (line.Length == 0 || line.StartsWith('#'))) continue;
            if (line.EndsWith('\\')) { pending += line[..^1] + " "; continue; }
            line = pending + line;
            pending = "";
            int space = line.IndexOf(' ');
            string keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            string arguments = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                stageIndex++;
                string[] words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                stage = words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
            }
            instructions.Add(new Instruction(keyword, arguments, stage, stageIndex));
        }
        Assert.True(pending.Length == 0, $"{path} ends inside a continued line");
        return new Dockerfile(path, instructions);
    }

    public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

    public IEnumerable<Instruction> InFinalStage(string keyword)
    {
        int last = Instructions.Max(i => i.StageIndex);
        return All(keyword).Where(i => i.StageIndex == last);
    }

    public Instruction Single(string keyword) => Assert.Single(InFinalStage(keyword));

    /// <summary>An instruction in exec form (a JSON array), as ENTRYPOINT and HEALTHCHECK CMD must be so that
    /// signals reach the server and no shell is needed.</summary>
    public static string[] ExecForm(string arguments, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<string[]>(arguments) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"{what} is not in exec form (a JSON array of strings): {arguments} ({e.Message})");
        }
    }
}
