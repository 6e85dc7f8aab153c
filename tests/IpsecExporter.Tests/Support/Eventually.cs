using System.Diagnostics;

namespace IpsecExporter.Tests.Support;

/// <summary>Polls a condition until it holds or a deadline passes; never a fixed sleep as the assertion.</summary>
public static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan deadline, Func<string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > deadline)
            {
                Assert.Fail($"condition not met within {deadline.TotalSeconds:0.#} s{(describe is null ? "" : ": " + describe())}");
            }

            await Task.Delay(10);
        }
    }
}
