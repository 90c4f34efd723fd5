using System.Text.Json;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

public class OutputTests
{
    [Fact]
    public void Prints_each_epoch_and_writes_json_lines()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        var output = new StringWriter();
        int code = TrainCommand.Run(["--strategy", "zero", "--ranks", "3", "--synthetic", "240", "--layers", "12,10,3", "--batch-size", "24",
            "--epochs", "2", "--no-checkpoint", "--log-json", log], output, TextWriter.Null);
        Assert.Equal(0, code);
        string text = output.ToString();
        Assert.Contains("epoch   1/2", text);
        Assert.Contains("epoch   2/2", text);
        Assert.Contains("samples/s", text);
        Assert.Contains("comm", text);
        Assert.Contains("optimizer state per rank", text);
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Length);
        foreach (var (line, epoch) in lines.Select((l, i) => (l, i + 1)))
        {
            using var record = JsonDocument.Parse(line);
            var root = record.RootElement;
            Assert.Equal(epoch, root.GetProperty("epoch").GetInt32());
            Assert.InRange(root.GetProperty("test_accuracy").GetDouble(), 0.34, 1.0);
            Assert.True(root.GetProperty("loss").GetDouble() > 0);
            Assert.True(root.GetProperty("samples_per_second").GetDouble() > 0);
            Assert.InRange(root.GetProperty("communication_share").GetDouble(), 0, 1);
        }
    }
}
