using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>The ledger file: records survive a reopen, a torn tail is cut off and reported, damage before the tail is an error.</summary>
public sealed class LedgerFileTests(HonestLedgerFixture run) : IClassFixture<HonestLedgerFixture>
{
    private string CopyOfPeerFile(TempDirectory dir)
    {
        string path = dir.File("peer.ledger");
        File.Copy(Path.Combine(run.Directory, "peer-2.ledger"), path);
        return path;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(500)]
    public void A_torn_last_record_is_cut_off_and_the_file_continues(int bytesLost)
    {
        using var dir = new TempDirectory();
        string path = CopyOfPeerFile(dir);
        LedgerBlock last;
        using (var whole = LedgerFile.Open(path))
        {
            Assert.Equal(4, whole.Blocks.Count);
            Assert.Null(whole.TornTail);
            last = whole.Blocks[^1];
        }
        long length = new FileInfo(path).Length;
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(length - bytesLost);
        using (var torn = LedgerFile.Open(path))
        {
            Assert.Equal(3, torn.Blocks.Count);
            Assert.NotNull(torn.TornTail);
            Assert.Contains($"{length - bytesLost - new FileInfo(path).Length} bytes at offset {new FileInfo(path).Length}", torn.TornTail);
            torn.Append(last);   // the peer appends the block again (it re-fetches it from a neighbour)
        }
        using var reopened = LedgerFile.Open(path);
        Assert.Null(reopened.TornTail);
        Assert.Equal(last.Hash, reopened.Blocks[^1].Hash);
        Assert.Equal(length, new FileInfo(path).Length);
    }

    [Fact]
    public void A_last_record_whose_checksum_fails_is_a_torn_tail()
    {
        using var dir = new TempDirectory();
        string path = CopyOfPeerFile(dir);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0xFF;   // inside the last record's payload: only the checksum can tell
        File.WriteAllBytes(path, bytes);
        using var file = LedgerFile.Open(path);
        Assert.Equal(3, file.Blocks.Count);
        Assert.Contains("its checksum does not match", file.TornTail);
    }

    [Fact]
    public void Damage_before_the_last_record_is_refused_naming_the_file_and_offset()
    {
        using var dir = new TempDirectory();
        string path = CopyOfPeerFile(dir);
        var bytes = File.ReadAllBytes(path);
        bytes[100] ^= 0xFF;   // inside the genesis record
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<TrainingException>(() => LedgerFile.Open(path).Dispose());
        Assert.Contains($"ledger file {path} is damaged at offset 0 (record 0, more records follow): its checksum does not match", error.Message);
    }
}
