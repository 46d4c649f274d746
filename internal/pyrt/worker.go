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

// The packages' __init__.py files are named explicitly: a directory
// pattern leaves out files whose names start with "_".
//
//go:embed runtime runtime/*/__init__.py
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

// errWorkerFailed means the worker died or hung; item and rule say where
// (from the progress slot), -1 when it was outside any detection call.
type errWorkerFailed struct {
	cause      string
	item, rule int
}

func (e *errWorkerFailed) Error() string {
	return fmt.Sprintf("python worker %s (item %d, detection %d)", e.cause, e.item, e.rule)
}

// progressSize is the progress slot: item, rule and a counter the worker
// bumps on every detection call, as little-endian int32s.
const progressSize = 12

// worker is one CPython process. Requests go through a writer goroutine so
// that several can be in flight while replies are read.
type worker struct {
	cfg       Config
	cmd       *exec.Cmd
	toPy      *os.File
	sendq     chan []byte
	fromPy    *bufio.Reader
	fromFile  *os.File
	progress  *os.File
	done      chan struct{} // closed when the process has exited
	closeOnce sync.Once
	python    string
}

// startWorker launches a process and performs the hello handshake.
func startWorker(cfg Config) (*worker, error) {
	dir, err := runtimeDir()
	if err != nil {
		return nil, err
	}
	progress, err := os.CreateTemp("", "prowl-progress-")
	if err != nil {
		return nil, err
	}
	os.Remove(progress.Name())
	if err := progress.Truncate(progressSize); err != nil {
		progress.Close()
		return nil, err
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		progress.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		progress.Close()
		inR.Close()
		inW.Close()
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
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		progress.Close()
		return nil, fmt.Errorf("starting python worker %s: %w", cfg.Python, err)
	}
	w := &worker{cfg: cfg, cmd: cmd, toPy: inW, sendq: make(chan []byte, 8), fromPy: bufio.NewReaderSize(outR, 1<<16),
		fromFile: outR, progress: progress, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(w.done)
	}()
	go w.writeLoop()
	var hello helloMsg
	if _, err := w.receive(&hello, 30*time.Second+cfg.RuleTimeout); err != nil {
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

// writeLoop writes queued frames until the queue closes or a write fails
// (the process is gone; the reader notices).
func (w *worker) writeLoop() {
	for frame := range w.sendq {
		if _, err := w.toPy.Write(frame); err != nil {
			for range w.sendq {
			}
			return
		}
	}
}

// send queues a request.
func (w *worker) send(req any) error {
	frame, err := encodeFrame(req)
	if err != nil {
		return err
	}
	w.sendq <- frame
	return nil
}

// call sends one request and reads its reply.
func (w *worker) call(req, resp any, stall time.Duration) ([]byte, error) {
	if err := w.send(req); err != nil {
		return nil, err
	}
	return w.receive(resp, stall)
}

// receive reads the next reply into resp and returns its blobs. It fails
// when the process exits, or when the progress slot has not moved for stall
// while a reply is awaited (the process is then killed): a detection that
// hangs past its own soft limit.
func (w *worker) receive(resp any, stall time.Duration) ([]byte, error) {
	type result struct {
		blobs []byte
		err   error
	}
	resc := make(chan result, 1)
	go func() {
		blobs, err := readFrame(w.fromPy, resp)
		resc <- result{blobs, err}
	}()
	ticker := time.NewTicker(min(stall/4, time.Second))
	defer ticker.Stop()
	last, since := w.readProgress(), time.Now()
	for {
		select {
		case r := <-resc:
			if r.err != nil {
				w.kill()
				return nil, w.failure("exited")
			}
			return r.blobs, nil
		case now := <-ticker.C:
			if cur := w.readProgress(); cur != last {
				last, since = cur, now
				continue
			}
			if now.Sub(since) < stall {
				continue
			}
			w.kill()
			<-resc
			return nil, w.failure(fmt.Sprintf("stopped responding for %s", stall.Round(time.Second)))
		}
	}
}

func (w *worker) readProgress() [3]int32 {
	var buf [progressSize]byte
	if _, err := w.progress.ReadAt(buf[:], 0); err != nil {
		return [3]int32{-1, -1, 0}
	}
	var out [3]int32
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return out
}

// failure describes how the process ended and where it was; it releases the
// progress slot, so it is called once, after kill.
func (w *worker) failure(cause string) error {
	at := w.readProgress()
	if cause == "exited" {
		if st := w.cmd.ProcessState; st != nil {
			cause = "exited (" + st.String() + ")"
		}
	}
	w.progress.Close()
	return &errWorkerFailed{cause: cause, item: int(at[0]), rule: int(at[1])}
}

// kill ends the process; the progress slot stays open to be read.
func (w *worker) kill() {
	if w.cmd.Process != nil {
		w.cmd.Process.Kill()
	}
	<-w.done
	w.closeFiles()
}

func (w *worker) closeFiles() {
	w.closeOnce.Do(func() {
		close(w.sendq)
		w.toPy.Close()
		w.fromFile.Close()
	})
}

// close asks the worker to exit by closing its input, then waits briefly.
func (w *worker) close() {
	w.closeOnce.Do(func() {
		close(w.sendq)
	})
	// The writer goroutine closes nothing; closing the pipe ends the worker's read loop.
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
