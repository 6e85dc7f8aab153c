namespace IpsecExporter.Tests.Support;

/// <summary>Waits for a condition with a deadline, polling; never a fixed sleep as the assertion.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#}s waiting for {what}");
            }

            await Task.Delay(50);
        }
    }
}
