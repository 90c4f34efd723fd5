using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class LogMathTests
{
    // Reference values of erfc from mpmath at 30 digits, rounded to double.
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.1, 0.8875370839817151)]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(1.5, 0.033894853524689274)]
    [InlineData(2.0, 0.004677734981047266)]
    [InlineData(3.0, 2.209049699858544e-05)]
    [InlineData(10.0, 2.088487583762545e-45)]
    [InlineData(-1.0, 1.8427007929497148)]
    [InlineData(-0.3, 1.3286267594591274)]
    public void ErfcMatchesReferenceValuesToDoublePrecision(double x, double expected)
    {
        Assert.Equal(expected, LogMath.Erfc(x), expected * 1e-14);
        Assert.Equal(Math.Log(expected), LogMath.LogErfc(x), 1e-13);
    }

    [Theory]
    [InlineData(30.0)]
    [InlineData(1e3)]
    [InlineData(1e6)]
    public void LogErfcFollowsTheAsymptoticSeriesWhereErfcUnderflows(double x)
    {
        // erfc(x) ~ e^{-x²}/(x√π) (1 - 1/(2x²) + 3/(4x⁴) - 15/(8x⁶)); the next term is below 1e-9 here.
        double inverse = 1 / (2 * x * x);
        double series = 1 - inverse + 3 * inverse * inverse - 15 * inverse * inverse * inverse;
        double expected = -x * x - Math.Log(x * Math.Sqrt(Math.PI)) + Math.Log(series);
        Assert.Equal(expected, LogMath.LogErfc(x), Math.Abs(expected) * 1e-14 + 1e-12);
        Assert.True(double.IsFinite(LogMath.LogErfc(x)));
    }

    [Fact]
    public void LogErfcIsContinuousWhereItSwitchesMethod()
    {
        foreach (double edge in new[] { -1.0, 1.0 })
        {
            double below = LogMath.LogErfc(Math.BitDecrement(edge)), above = LogMath.LogErfc(edge);
            Assert.Equal(below, above, 1e-14);
        }
        Assert.Equal(Math.Log(2), LogMath.LogErfc(-40), 1e-15);
    }

    [Fact]
    public void LogAddAndSubtractAreExactWithoutOverflow()
    {
        Assert.Equal(Math.Log(5), LogMath.LogAdd(Math.Log(2), Math.Log(3)), 1e-15);
        Assert.Equal(1000 + Math.Log(2), LogMath.LogAdd(1000, 1000), 1e-12);
        Assert.Equal(Math.Log(1), LogMath.LogSubtract(Math.Log(3), Math.Log(2)), 1e-15);
        Assert.Equal(double.NegativeInfinity, LogMath.LogSubtract(7, 7));
        Assert.Throws<ArithmeticException>(() => LogMath.LogSubtract(1, 2));
    }
}
