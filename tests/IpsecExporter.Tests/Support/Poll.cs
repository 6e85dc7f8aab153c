namespace IpsecExporter.Tests.Support;

/// <summary>Waits for a condition with a deadline: tests never assert after a fixed sleep.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                // Not up yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"condition not met within {timeout.TotalSeconds}s. {describe?.Invoke()}");
            }

            await Task.Delay(50);
        }
    }

    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        UntilAsync(condition, timeout, () => $"waiting for {what}");

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, describe);
}
