package pyrt

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

//go:embed runtime
var runtimeFS embed.FS

var (
	runtimeOnce sync.Once
	runtimePath string
	runtimeErr  error
)

// runtimeDir writes the embedded Python runtime to a content-addressed
// directory once per process and returns it.
func runtimeDir() (string, error) {
	runtimeOnce.Do(func() {
		hash := sha256.New()
		var files []string
		runtimeErr = fs.WalkDir(runtimeFS, "runtime", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := runtimeFS.ReadFile(path)
			if err != nil {
				return err
			}
			hash.Write([]byte(path))
			hash.Write(data)
			files = append(files, path)
			return nil
		})
		if runtimeErr != nil {
			return
		}
		base, err := os.UserCacheDir()
		if err != nil || os.MkdirAll(base, 0o755) != nil {
			base = os.TempDir()
		}
		dir := filepath.Join(base, "prowl", "pyrt-"+hex.EncodeToString(hash.Sum(nil))[:16])
		if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
			runtimePath = dir
			return
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "pyrt-tmp-")
		if err != nil {
			if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
				tmp, err = os.MkdirTemp(filepath.Dir(dir), "pyrt-tmp-")
			}
			if err != nil {
				runtimeErr = fmt.Errorf("creating python runtime directory: %w", err)
				return
			}
		}
		for _, path := range files {
			data, _ := runtimeFS.ReadFile(path)
			target := filepath.Join(tmp, filepath.FromSlash(path[len("runtime/"):]))
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				runtimeErr = err
				return
			}
			if err := os.WriteFile(target, data, 0o644); err != nil {
				runtimeErr = err
				return
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
			runtimeErr = err
			return
		}
		if err := os.Rename(tmp, dir); err != nil {
			// Another process won the race; use its copy.
			os.RemoveAll(tmp)
		}
		runtimePath = dir
	})
	return runtimePath, runtimeErr
}

// errWorkerFailed means the worker died or hung; progress says where.
type errWorkerFailed struct {
	cause         string
	item, rule    int
}

func (e *errWorkerFailed) Error() string {
	return fmt.Sprintf("python worker %s (item %d, detection %d)", e.cause, e.item, e.rule)
}

// worker is one CPython process.
type worker struct {
	cfg      Config
	cmd      *exec.Cmd
	toPy     *os.File
	fromPy   *bufio.Reader
	fromFile *os.File
	progress *os.File
	done     chan struct{} // closed when the process has exited
	python   string
}

// startWorker launches a process and performs the hello handshake.
func startWorker(cfg Config) (*worker, error) {
	dir, err := runtimeDir()
	if err != nil {
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	progress, err := os.CreateTemp("", "prowl-progress-")
	if err != nil {
		return nil, err
	}
	os.Remove(progress.Name())
	if err := progress.Truncate(8); err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Python, "-B", "-s", filepath.Join(dir, "prowl_worker.py"))
	cmd.Dir = dir
	cmd.ExtraFiles = []*os.File{inR, outW, progress} // fds 3, 4, 5
	cmd.Env = append(os.Environ(),
		"PROWL_IN=3", "PROWL_OUT=4", "PROWL_PROGRESS=5",
		"PYTHONPATH="+dir,
		"PYTHONIOENCODING=utf-8",
		"PROWL_MEMORY_MB="+strconv.Itoa(cfg.MemoryLimitMB),
	)
	if cfg.KVPath != "" {
		cmd.Env = append(cmd.Env, "PROWL_KV_PATH="+cfg.KVPath)
	}
	out := io.Writer(io.Discard)
	if cfg.Output != nil {
		out = cfg.Output
	}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		progress.Close()
		return nil, fmt.Errorf("starting python worker %s: %w", cfg.Python, err)
	}
	inR.Close()
	outW.Close()
	w := &worker{cfg: cfg, cmd: cmd, toPy: inW, fromPy: bufio.NewReaderSize(outR, 1<<16), fromFile: outR, progress: progress, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(w.done)
	}()
	var hello helloMsg
	if err := w.call(nil, &hello, 30*time.Second+cfg.RuleTimeout); err != nil {
		return nil, fmt.Errorf("python worker %s did not start: %w", cfg.Python, err)
	}
	if hello.Protocol != ProtocolVersion {
		w.kill()
		w.progress.Close()
		return nil, fmt.Errorf("python worker speaks protocol %d, prowl needs %d", hello.Protocol, ProtocolVersion)
	}
	w.python = hello.Python
	return w, nil
}

// call sends req (unless nil) and reads one reply into resp. It fails when
// the process exits, or when the progress slot has not moved for stall (the
// process is then killed): a detection that hangs past its own soft limit.
func (w *worker) call(req, resp any, stall time.Duration) error {
	if req != nil {
		w.writeProgress(-1, -1)
		if err := writeFrame(w.toPy, req); err != nil {
			w.kill()
			return w.failure("exited")
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- readFrame(w.fromPy, resp) }()
	tick := min(stall/4, time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	last, since := w.readProgress(), time.Now()
	for {
		select {
		case err := <-errc:
			if err != nil {
				w.kill()
				return w.failure("exited")
			}
			return nil
		case now := <-ticker.C:
			if cur := w.readProgress(); cur != last {
				last, since = cur, now
				continue
			}
			if now.Sub(since) < stall {
				continue
			}
			w.kill()
			<-errc
			return w.failure(fmt.Sprintf("stopped responding for %s", stall.Round(time.Second)))
		}
	}
}

func (w *worker) readProgress() [2]int {
	var buf [8]byte
	if _, err := w.progress.ReadAt(buf[:], 0); err != nil {
		return [2]int{-1, -1}
	}
	return [2]int{int(int32(binary.LittleEndian.Uint32(buf[:4]))), int(int32(binary.LittleEndian.Uint32(buf[4:])))}
}

func (w *worker) failure(cause string) error {
	at := w.readProgress()
	if cause == "exited" {
		<-w.done
		if st := w.cmd.ProcessState; st != nil {
			cause = "exited (" + st.String() + ")"
		}
	}
	w.progress.Close()
	return &errWorkerFailed{cause: cause, item: at[0], rule: at[1]}
}

func (w *worker) writeProgress(item, rule int) {
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(int32(item)))
	binary.LittleEndian.PutUint32(buf[4:], uint32(int32(rule)))
	w.progress.WriteAt(buf[:], 0)
}

// kill ends the process; its files stay open so progress can still be read.
func (w *worker) kill() {
	if w.cmd.Process != nil {
		w.cmd.Process.Kill()
	}
	<-w.done
	w.toPy.Close()
	w.fromFile.Close()
}

// close asks the worker to exit by closing its input, then waits briefly.
func (w *worker) close() {
	w.toPy.Close()
	select {
	case <-w.done:
	case <-time.After(2 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
	}
	w.fromFile.Close()
	w.progress.Close()
}

var errClosed = errors.New("pyrt: pool is closed")
