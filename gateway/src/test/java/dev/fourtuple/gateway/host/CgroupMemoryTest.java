package dev.fourtuple.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CgroupMemory} on fixture trees: a {@code /proc} root holding {@code self/cgroup}, and a cgroup root
 * standing for {@code /sys/fs/cgroup}.
 */
class CgroupMemoryTest {
    /** 2^63 - 4096: what cgroup v1 reports as memory.limit_in_bytes when no limit is set. */
    private static final String V1_NO_LIMIT = "9223372036854771712";

    @TempDir
    Path dir;
    private Path proc;
    private Path cgroup;

    @BeforeEach
    void roots() throws IOException {
        proc = Files.createDirectories(dir.resolve("proc/self")).getParent();
        cgroup = Files.createDirectories(dir.resolve("cgroup"));
    }

    private void membership(String text) throws IOException {
        Files.writeString(proc.resolve("self/cgroup"), text);
    }

    private void file(String relative, String content) throws IOException {
        Path file = cgroup.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    @Test
    void v2ReadsCurrentAgainstMaxOfTheProcessCgroup() throws IOException {
        membership("0::/system.slice/fourtuple.service\n");
        file("system.slice/fourtuple.service/memory.current", "104857600\n");
        file("system.slice/fourtuple.service/memory.max", "209715200\n");

        CgroupMemory memory = CgroupMemory.read(proc, cgroup);

        assertThat(memory).isEqualTo(new CgroupMemory(104857600, 209715200));
        assertThat(memory.used()).isEqualTo(0.5);
    }

    @Test
    void v2WithoutALimitIsNull() throws IOException {
        membership("0::/system.slice/fourtuple.service\n");
        file("system.slice/fourtuple.service/memory.current", "104857600\n");
        file("system.slice/fourtuple.service/memory.max", "max\n");

        assertThat(CgroupMemory.read(proc, cgroup)).isNull();
    }

    @Test
    void v2RootCgroupWithoutMemoryFilesIsNull() throws IOException {
        membership("0::/\n"); // the root cgroup has no memory.max

        assertThat(CgroupMemory.read(proc, cgroup)).isNull();
    }

    @Test
    void v1ReadsUsageAgainstLimitOfTheMemoryController() throws IOException {
        membership("4:memory:/process_api/abc\n0::/\n");
        file("memory/process_api/abc/memory.usage_in_bytes", "3000\n");
        file("memory/process_api/abc/memory.limit_in_bytes", "4000\n");

        CgroupMemory memory = CgroupMemory.read(proc, cgroup);

        assertThat(memory).isEqualTo(new CgroupMemory(3000, 4000));
        assertThat(memory.used()).isEqualTo(0.75);
    }

    @Test
    void v1UnlimitedIsNull() throws IOException {
        membership("4:memory:/process_api/abc\n0::/\n");
        file("memory/process_api/abc/memory.usage_in_bytes", "3000\n");
        file("memory/process_api/abc/memory.limit_in_bytes", V1_NO_LIMIT + "\n");

        assertThat(CgroupMemory.read(proc, cgroup)).isNull();
    }

    @Test
    void v1InAContainerThatSeesItsCgroupAsTheRoot() throws IOException {
        membership("4:memory:/docker/0123abcd\n");
        file("memory/memory.usage_in_bytes", "100\n");
        file("memory/memory.limit_in_bytes", "400\n");

        assertThat(CgroupMemory.read(proc, cgroup)).isEqualTo(new CgroupMemory(100, 400));
    }

    @Test
    void noMemoryFilesAnywhereIsNull() throws IOException {
        membership("12:cpu,cpuacct:/x\n4:memory:/process_api/abc\n0::/system.slice/fourtuple.service\n");

        assertThat(CgroupMemory.read(proc, cgroup)).isNull();
    }
}
