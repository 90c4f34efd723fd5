using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Tests.Privacy;

/// <summary>The checkpoint's privacy section: version 2 with it, version 1 (unchanged bytes) without it.</summary>
public class CheckpointPrivacySectionTests
{
    private static Checkpoint Sample() => new([2, 3], 4, 7, OptimizerKind.Sgd, 11, [1, 2, 3, 4, 5, 6, 7, 8, 9], [[9, 8, 7, 6, 5, 4, 3, 2, 1]]);

    [Fact]
    public void The_privacy_section_round_trips_and_sets_version_2()
    {
        const string json = "{\"runId\":\"r-1\",\"note\":\"\u00e9\u03b5\"}";
        var bytes = CheckpointFile.Serialize(Sample() with { Privacy = json });
        Assert.Equal(CheckpointFile.PrivacyVersion, BitConverter.ToInt32(bytes, 8));
        var read = CheckpointFile.Deserialize(bytes, "x.ckpt");
        Assert.Equal(json, read.Privacy);
        Assert.Equal(Sample().Parameters, read.Parameters);
        Assert.Equal(Sample().OptimizerSlots[0], read.OptimizerSlots[0]);
    }

    [Fact]
    public void Without_a_privacy_section_the_file_stays_version_1()
    {
        var bytes = CheckpointFile.Serialize(Sample());
        Assert.Equal(CheckpointFile.Version, BitConverter.ToInt32(bytes, 8));
        Assert.Null(CheckpointFile.Deserialize(bytes, "x.ckpt").Privacy);
    }

    [Fact]
    public void A_version_1_file_with_trailing_bytes_is_refused()
    {
        // A version-1 header on a version-2 body (checksum recomputed) must not be misread.
        var bytes = CheckpointFile.Serialize(Sample() with { Privacy = "{}" });
        BitConverter.GetBytes(CheckpointFile.Version).CopyTo(bytes, 8);
        System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        var error = Assert.Throws<CheckpointException>(() => CheckpointFile.Deserialize(bytes, "x.ckpt"));
        Assert.Contains("does not match its header", error.Message);
    }
}
