using AllReduceNet.Privacy;

namespace AllReduceNet.Privacy.Tests;

public class PrivacyExceptionTests
{
    [Fact]
    public void KeepsTheMessageAndTheCause()
    {
        var inner = new InvalidOperationException("underneath");
        var error = new PrivacyException("client 3 sent 12 bytes, expected 65", inner);
        Assert.Equal("client 3 sent 12 bytes, expected 65", error.Message);
        Assert.Same(inner, error.InnerException);
    }
}
