using System.Buffers.Binary;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

public class MalformedMessageTests
{
    [Theory]
    [InlineData(SecAggStage.AdvertiseKeys)]
    [InlineData(SecAggStage.ShareKeys)]
    [InlineData(SecAggStage.MaskedInput)]
    [InlineData(SecAggStage.Unmasking)]
    public void AShortMessageDropsItsSenderByNameAndTheRoundGoesOn(SecAggStage stage)
    {
        using var f = new ProtocolFixture(8, 5, 100);
        int bad = f.Ids[3];
        var report = f.Run(filter: (s, id, message) => s == stage && id == bad ? message[..(message.Length / 2)] : message);
        Assert.Contains($"client {bad}", report.Refusals[bad]);
        Assert.Contains("short message", report.Refusals[bad]);
        // A client refused at unmasking had already sent its masked input, so it stays in the sum.
        f.AssertExactSum(report, stage == SecAggStage.Unmasking ? f.Ids : f.Ids.Except([bad]));
    }

    [Theory]
    [InlineData(SecAggStage.AdvertiseKeys)]
    [InlineData(SecAggStage.ShareKeys)]
    [InlineData(SecAggStage.MaskedInput)]
    [InlineData(SecAggStage.Unmasking)]
    public void MalformedMessagesBelowThresholdAbortTheRoundWithoutACrash(SecAggStage stage)
    {
        using var f = new ProtocolFixture(6, 4, 20);
        var report = f.Run(filter: (s, id, message) => s == stage && id != f.Ids[0] && id != f.Ids[1] && id != f.Ids[2] ? [.. message, 0x00] : message);
        Assert.False(report.Succeeded);
        Assert.Equal(stage, report.Abort!.Stage);
        Assert.Equal(3, report.Refusals.Count);
        Assert.All(report.Refusals.Values, reason => Assert.Contains("trailing bytes", reason));
    }

    [Fact]
    public void TheServerNamesTheClientAndTheFieldOfEveryDefect()
    {
        using var f = new ProtocolFixture(4, 3, 10);
        var advert = f.Clients[1].AdvertiseKeys(7);
        int id = f.Clients[1].Id;

        string Refuse(byte[] message, int from)
        {
            var server = new SecAggServer(f.Settings, 7, f.Ids, 0);
            var error = Assert.Throws<PrivacyException>(() => server.Receive(from, message));
            Assert.Contains($"client {from}", error.Message);
            if (f.Ids.Contains(from)) Assert.Contains(from, server.Rejected.Keys);
            else Assert.Empty(server.Rejected);
            return error.Message;
        }

        Assert.Contains("shorter than the 12-byte header", Refuse(advert[..5], id));
        Assert.Contains("magic", Refuse([(byte)'X', .. advert[1..]], id));
        Assert.Contains("kind is MaskedInput", Refuse([.. advert[..3], 4, .. advert[4..]], id));
        var wrongRound = advert.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(wrongRound.AsSpan(4), 8);
        Assert.Contains("round 8, expected round 7", Refuse(wrongRound, id));
        Assert.Contains($"names sender {id}, but came from {f.Ids[2]}", Refuse(advert, f.Ids[2]));
        var badPoint = advert.ToArray();
        badPoint[12] ^= 0xFF;
        Assert.Contains("not a valid P-256 public key", Refuse(badPoint, id));
        var random = new byte[200];
        new Random(3).NextBytes(random);
        Refuse(random, id);
        Assert.Contains("not sampled", Refuse(advert, 999));
    }

    [Fact]
    public void ADuplicateMessageDropsTheClient()
    {
        using var f = new ProtocolFixture(4, 3, 10);
        var server = new SecAggServer(f.Settings, 0, f.Ids, 0);
        var advert = f.Clients[0].AdvertiseKeys(0);
        server.Receive(f.Ids[0], advert);
        var error = Assert.Throws<PrivacyException>(() => server.Receive(f.Ids[0], advert));
        Assert.Contains("second message", error.Message);
        Assert.Contains(f.Ids[0], server.Rejected.Keys);
    }

    [Fact]
    public void AClientRefusesATamperedRelayByName()
    {
        using var f = new ProtocolFixture(4, 3, 10);
        var server = new SecAggServer(f.Settings, 0, f.Ids, 0);
        foreach (var c in f.Clients) server.Receive(c.Id, c.AdvertiseKeys(0));
        var broadcasts = server.CompleteAdvertiseKeys();
        foreach (var c in f.Clients) server.Receive(c.Id, c.ShareKeys(broadcasts[c.Id]));
        var relays = server.CompleteShareKeys();
        var relay = relays[f.Ids[0]].ToArray();
        relay[^3] ^= 1; // inside the last ciphertext's tag
        var error = Assert.Throws<PrivacyException>(() => f.Clients[0].MaskedInput(relay, f.Inputs[0]));
        Assert.Contains($"client {f.Ids[0]}", error.Message);
        Assert.Contains("fails authentication", error.Message);
        var shortRelay = Assert.Throws<PrivacyException>(() => f.Clients[1].MaskedInput(relays[f.Ids[1]][..20], f.Inputs[1]));
        Assert.Contains("short message", shortRelay.Message);
    }

    [Fact]
    public void CallsOutOfOrderAreRefused()
    {
        using var f = new ProtocolFixture(3, 2, 4);
        Assert.Throws<PrivacyException>(() => f.Clients[0].ShareKeys([]));
        var server = new SecAggServer(f.Settings, 0, f.Ids, 0);
        Assert.Throws<InvalidOperationException>(() => server.CompleteShareKeys());
    }
}
